"""nasvl: neural architecture search for vision-language Siamese trackers."""

from __future__ import annotations

__version__ = "0.1.0"
