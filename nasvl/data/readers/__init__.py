"""The benchmark readers. Each registers its format (`nasvl.data.registry.register_format`) when
imported; `load_dataset` imports this package before it looks a format up."""

from __future__ import annotations

from nasvl.data.readers import coco, folder, got10k, lasot, otb, tnl2k  # noqa: F401  (registration)
