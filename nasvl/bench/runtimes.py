"""One architecture under every runtime, timed in turns (`nasvl bench tracker --runtimes` prints it).

The paper-CAND VLT-SCAR export (random weights and BN statistics unless `model` is a real
export) is built once; its ONNX graphs and the int8 graph are written next to it. Every runtime
tracks the same synthetic video (whole `Tracker.track`: crop, network, decoding), taking turns of
`block` consecutive frames, the first of each untimed (`nasvl.bench.trackers.time_in_turns`), so
machine load hits all alike and the ratios compare like with like.

* `torch-plain` is the plain form: unfolded, NCHW, the per-frame path as trained. The space
  (`vlt_scar.yaml`) carries the official SOTS head geometry, so this row is also the
  SOTS-equivalent figure of the same architecture.
* `torch` is the inference form (and `torch-channels-last` the same in NHWC, to decide
  `CHANNELS_LAST`); `onnx` / `onnx-int8` the exported graphs.

With `suc_data` (the embedded benchmark's root), the int8 graph's SUC change against fp32 ONNX
is measured on its test split, with a paired bootstrap interval over videos.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasvl.deploy.runtimes import RUNTIMES, TorchEngine

CHANNELS_LAST_ROW = "torch-channels-last"  # the inference form in NHWC: measured to choose CHANNELS_LAST
LABELS = {"torch-plain": "plain form (unfolded, NCHW; SOTS geometry)", "torch": "inference form (BN folded)",
          CHANNELS_LAST_ROW: "inference form, channels-last", "onnx": "ONNX fp32 (onnxruntime)",
          "onnx-int8": "ONNX int8 (static, calibrated)"}


def _paper_export(spaces_dir: Path, out: Path) -> Path:
    from nasvl.bench.trackers import paper_cand
    from nasvl.export import save_subnet
    from nasvl.space import from_cand, load_space
    from nasvl.supernet import Subnet

    space = load_space(spaces_dir / "vlt_scar.yaml")
    torch.manual_seed(0)
    net = Subnet(space, from_cand(space, paper_cand(spaces_dir))).eval()
    g = torch.Generator().manual_seed(0)
    for m in net.modules():  # BN statistics of a trained net, not the identity: folding must matter
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return save_subnet(net, out)


def _trackers(export: Path, runtimes: tuple[str, ...], vector: torch.Tensor | None) -> dict[str, Any]:
    from nasvl.export import load_subnet
    from nasvl.tracking.tracker import build_tracker

    embed = (lambda _t: vector) if vector is not None else None
    return {r: build_tracker(load_subnet(export), embed_text=embed, runtime=r, model_dir=export) for r in runtimes}


def suc_change(export: Path, data: Path, max_videos: int | None = None,
               progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Per-video SUC of fp32 and int8 ONNX on `data`/test (zeros language), and int8 − fp32 with its CI."""
    from nasvl.data.registry import load_dataset
    from nasvl.metrics.bootstrap import paired_bootstrap_diff
    from nasvl.metrics.ope import evaluate_sequence
    from nasvl.tracking.run import track_video

    videos = load_dataset(Path(data) / "test", "lasot")[:max_videos]
    trackers = _trackers(export, ("onnx", "onnx-int8"), None)
    suc: dict[str, list[float]] = {r: [] for r in trackers}
    for i, video in enumerate(videos):
        if progress:
            progress(f"SUC: video {i + 1}/{len(videos)} {video.name}")
        frames = [video.frame(k) for k in range(len(video))]
        for runtime, tracker in trackers.items():
            boxes = track_video(tracker, frames, video.boxes[0])
            suc[runtime].append(100 * evaluate_sequence(boxes, video.boxes, video.absent)["suc"])
    diff = paired_bootstrap_diff(suc["onnx-int8"], suc["onnx"])
    return {"split": "test", "videos": len(videos), "suc_fp32": statistics.fmean(suc["onnx"]),
            "suc_int8": statistics.fmean(suc["onnx-int8"]), "int8_minus_fp32": diff.as_diff()}


def bench_runtimes(spaces_dir: str | Path, *, frames: int = 40, warmup: int = 5, block: int = 8,
                   model: str | Path | None = None, suc_data: str | Path | None = None,
                   suc_videos: int | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    from nasvl.bench.trackers import matmul_gflops, moving_shape_video, time_in_turns, turns_for
    from nasvl.cost import CostModel
    from nasvl.deploy.ort import export_onnx
    from nasvl.export import load_subnet
    from nasvl.tracking.calibration import calibration_feeds

    turns = turns_for(frames, block)
    say = progress or (lambda _m: None)
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(model) if model else _paper_export(Path(spaces_dir), Path(tmp) / "paper")
        say("exporting ONNX graphs and calibrating int8 (synthetic training videos)")
        export_onnx(export)
        export_onnx(export, int8=True, calibration=calibration_feeds(export))
        subnet = load_subnet(export)
        space = subnet.space
        dim = space.mixer.language_dim if space.mixer else 0
        vector = torch.randn(dim, generator=torch.Generator().manual_seed(1)) if dim else None
        trackers = _trackers(export, RUNTIMES, vector)
        nhwc = _trackers(export, ("torch",), vector)["torch"]
        nhwc.use_engine(TorchEngine(load_subnet(export), subnet.arch, channels_last=True))
        trackers[CHANNELS_LAST_ROW] = nhwc
        video, boxes = moving_shape_video(1 + warmup + turns * block)
        for tracker in trackers.values():
            tracker.initialize(video[0], boxes[0], text="a red ball moving right" if dim else None)
            for frame in video[1:1 + warmup]:
                tracker.track(frame)
        say(f"measuring the fp32 matmul rate ({torch.get_num_threads()} threads)")
        gflops = matmul_gflops()
        say(f"timing {len(trackers)} runtimes × {turns * (block - 1)} frames, in turns of {block} frames")
        times = time_in_turns(trackers, video[1 + warmup:], block)
        suc = suc_change(export, Path(suc_data), suc_videos, say) if suc_data else None
    cost = CostModel(space).cost(subnet.arch)
    floor_ms = 2 * cost.per_frame_macs / (gflops * 1e9) * 1000
    rows = []
    for runtime, t in times.items():
        median = statistics.median(t)
        rows.append({"runtime": runtime, "label": LABELS[runtime], "median_ms": median, "min_ms": min(t),
                     "p90_ms": float(np.percentile(t, 90)), "fps": 1000 / median, "x_floor": median / floor_ms,
                     "x_floor_min": min(t) / floor_ms})
    by = {r["runtime"]: r for r in rows}
    plain, fast = by["torch-plain"], by["torch"]
    return {
        "benchmark": "one architecture under every runtime (whole Tracker.track, batch 1, in turns of "
                     f"{block} frames, the first of each untimed)",
        "model": str(model) if model else "VLT-SCAR paper CAND (random weights)", "arch": subnet.arch.key,
        "threads": torch.get_num_threads(), "torch": torch.__version__, "frames_timed": turns * (block - 1),
        "block": block,
        "per_frame_gflop": 2 * cost.per_frame_macs / 1e9, "matmul_gflops": gflops, "floor_ms": floor_ms,
        "results": rows,
        "inference_vs_plain": plain["median_ms"] / fast["median_ms"],
        "inference_vs_plain_min": plain["min_ms"] / fast["min_ms"],
        "channels_last_vs_nchw": fast["median_ms"] / by[CHANNELS_LAST_ROW]["median_ms"],
        "int8_vs_fp32_export": min(fast["median_ms"], by["onnx"]["median_ms"]) / by["onnx-int8"]["median_ms"],
        "sots_equivalent_ms": plain["median_ms"],
        "suc": suc,
    }
