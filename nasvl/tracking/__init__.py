"""Inference: the `Tracker` interface, building one from a network (`build_tracker`), and running it
over videos. The tracker plugin contract lives with the space (`nasvl.space.tracker`)."""

from __future__ import annotations

from nasvl.tracking.tracker import Tracker, build_tracker

__all__ = ["Tracker", "build_tracker"]
