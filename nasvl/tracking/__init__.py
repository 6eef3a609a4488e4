"""Engine-side tracking contracts: the tracker plugin registry."""

from __future__ import annotations

from nasvl.tracking.plugin import TRACKERS, NoOptions, TrackerPlugin, register_tracker

__all__ = ["TRACKERS", "NoOptions", "TrackerPlugin", "register_tracker"]
