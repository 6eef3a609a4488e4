"""int8 calibration feeds: the search graph's inputs recorded while the fp32 ONNX tracker follows
training videos; and `ensure_onnx`, which writes the graphs a runtime needs. Both track videos, so
they live above the deploy layer (which the trackers themselves use)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from nasvl.config.limits import CALIBRATION_FEEDS
from nasvl.deploy.int8 import Feed
from nasvl.deploy.ort import OrtEngine, export_onnx, read_onnx_manifest
from nasvl.deploy.runtimes import Engine
from nasvl.errors import CheckpointError, ConfigError

CALIBRATION_VIDEOS = 6      # synthetic videos drawn when no calibration data is given (4 are train)
FRAMES_PER_VIDEO = 16


class _Recorder(Engine):
    """An engine that passes through and keeps every search feed."""

    def __init__(self, inner: Any, limit: int) -> None:
        self.inner, self.limit, self.runtime = inner, limit, inner.runtime
        self.feeds: list[Feed] = []

    def template(self, z: torch.Tensor, lang: Any) -> Any:
        return self.inner.template(z, lang)

    def search(self, x: torch.Tensor, state: Any) -> dict[str, torch.Tensor]:
        if len(self.feeds) < self.limit:
            self.feeds.append(self.inner.feed(x, state))
        return self.inner.search(x, state)


def record_feeds(export_dir: str | Path, videos: Sequence[Any], *, frames_per_video: int = FRAMES_PER_VIDEO,
                 limit: int = 256, embed_text: Callable[[str], torch.Tensor | None] | None = None) -> list[Feed]:
    """Track the first `frames_per_video` frames of each of `videos` (nasvl `Video`s) with the fp32 graphs."""
    from nasvl.export import load_subnet
    from nasvl.tracking.tracker import build_tracker

    limit = min(limit, CALIBRATION_FEEDS.value)
    subnet = load_subnet(export_dir)
    tracker = build_tracker(subnet, embed_text=embed_text, runtime="torch-plain")
    recorder = _Recorder(OrtEngine(export_dir), limit)
    tracker.use_engine(recorder)  # type: ignore[attr-defined]
    for video in videos:
        n = min(len(video), frames_per_video + 1)
        text = video.description if embed_text is not None else None
        tracker.initialize(video.frame(0), video.boxes[0], text=text)
        for i in range(1, n):
            tracker.track(video.frame(i))
        if len(recorder.feeds) >= limit:
            break
    if not recorder.feeds:
        raise ConfigError("no calibration frames: the calibration videos hold fewer than 2 frames")
    return recorder.feeds


def calibration_feeds(export_dir: str | Path, *,
                      data: str | Path | None = None, videos: int = CALIBRATION_VIDEOS,
                      embed_text: Callable[[str], torch.Tensor | None] | None = None) -> list[Feed]:
    """Feeds from `data` (a LaSOT-layout training split) or from freshly drawn synthetic training videos."""
    from nasvl.data.registry import load_dataset

    if data is not None:
        return record_feeds(export_dir, load_dataset(data, "lasot")[:videos], embed_text=embed_text)
    from nasvl.data.synth import generate

    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "synth", videos=videos, seed=1234, workers=1)
        return record_feeds(export_dir, load_dataset(root / "train", "lasot"), embed_text=embed_text)


def ensure_onnx(export_dir: str | Path, runtime: str) -> None:
    """The graphs `runtime` runs, written next to the export unless current ones are there already
    (int8: calibrated on freshly drawn synthetic training videos)."""
    if runtime not in ("onnx", "onnx-int8"):
        return
    try:
        current = read_onnx_manifest(export_dir)
    except CheckpointError:
        current = None
    if current is None:
        export_onnx(export_dir)
    if runtime == "onnx-int8" and not (current or {}).get("int8"):
        export_onnx(export_dir, int8=True, calibration=calibration_feeds(export_dir))
