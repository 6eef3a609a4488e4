"""int8 per-frame graph: onnxruntime static quantisation, calibrated on real search crops.

Calibration feeds are the search graph's inputs (search crop + template state) recorded while
the fp32 ONNX tracker follows training videos: crops and template states of the distribution
the tracker will meet, not random tensors. Weights are int8 per output channel, activations
uint8 per tensor (MinMax ranges), in QDQ form, which onnxruntime fuses into integer kernels.
Only the search graph is quantised: the template graph runs once per video.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasvl.config.limits import CALIBRATION_FEEDS
from nasvl.deploy.runtimes import Engine
from nasvl.errors import ConfigError

Feed = dict[str, np.ndarray]
CALIBRATION_VIDEOS = 6      # synthetic videos drawn when no calibration data is given (4 are train)
FRAMES_PER_VIDEO = 16
KEEP_FP32 = ("Resize", "Exp")


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
    from nasvl.deploy.ort import OrtEngine
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


def calibration_feeds(export_dir: str | Path, manifest: dict[str, Any] | None = None, *,
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


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over recorded feeds."""

    def __init__(self, feeds: list[Feed], inputs: set[str]) -> None:
        self._it: Iterator[Feed] = iter([{k: v for k, v in f.items() if k in inputs} for f in feeds])

    def get_next(self) -> Feed | None:
        return next(self._it, None)

    def rewind(self) -> None:  # some onnxruntime versions call it
        pass


def quantize_search(src: Path, dst: Path, feeds: list[Feed], workdir: Path) -> dict[str, Any]:
    """Write the int8 version of the search graph `src` to `dst`; the manifest's `int8` entry."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    feeds = feeds[:CALIBRATION_FEEDS.value]
    pre = workdir / "search.pre.onnx"
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    inputs = {i.name for i in ort.InferenceSession(str(pre), providers=["CPUExecutionProvider"]).get_inputs()}
    import onnx

    # onnxruntime's integer Resize rejects the official head's bicubic 32→31 downscale; exp() of the
    # ltrb map needs fp32 range. Both stay fp32 (a few kFLOP of the frame's GFLOPs).
    nodes = list(onnx.load(str(pre)).graph.node)
    keep = [n.name for n in nodes if n.op_type in KEEP_FP32]
    # onnxruntime's NHWC transformer (ENABLE_ALL) moves a Resize between int8 convs into NHWC, where a
    # bicubic downscale (the official 32→31) is refused at run time: such graphs load at EXTENDED.
    cubic = any(n.op_type == "Resize" and any(a.name == "mode" and a.s == b"cubic" for a in n.attribute)
                for n in nodes)
    quantize_static(str(pre), str(dst), _Reader(feeds, inputs), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=keep,
                    extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    return {"file": dst.name, "calibration_feeds": len(feeds), "optimization": "extended" if cubic else "all", "method": "static QDQ, MinMax, per-channel int8 "
            "weights, uint8 activations"}
