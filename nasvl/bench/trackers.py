"""Per-frame CPU latency of exported trackers (`nasvl bench tracker`).

Each model is built with random weights (latency does not depend on their values),
exported with `save_subnet` and re-loaded with `load_subnet`, so the timed network is
exactly what `nasvl track` runs. One synthetic video is tracked per model; the language
embedding (VL models) is computed once in `initialize` and excluded, as it is per video.
Timed: the whole `Tracker.track` call (crop, search branch, head, decoding).

Next to each time stands its compute floor: the per-frame FLOPs (2 × the cost model's
per-frame MACs, template side cached) over the fp32 matmul rate measured on the same threads
(the best of a few 2048³ `torch.mm`). time / floor says how far the tracker is from what this
machine's GEMM could do with the same arithmetic.

Trackers take turns (`time_in_turns`): `block` consecutive frames each, the first of each turn
untimed, so machine load falls on all alike while no time measures a switch between trackers.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
import torch

from nasvl.errors import ConfigError
from nasvl.space import Architecture, SearchSpace, from_cand, load_space

K = TypeVar("K")
CAND_FILE = "vlt_scar.cand.yaml"  # the paper's CAND lives beside its space, not in engine code
MATMUL_N = 2048


def _spaces_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "search_spaces"


def paper_cand(spaces_dir: str | Path | None = None) -> list[list[int]]:
    """The paper's searched VLT-SCAR CAND, read from `search_spaces/vlt_scar.cand.yaml` (`paper_cand:`)."""
    from nasvl.config.yamldoc import load_yaml

    path = Path(spaces_dir or _spaces_dir()) / CAND_FILE
    if not path.is_file():
        raise ConfigError(f"no {CAND_FILE} beside the spaces (needed for the paper CAND)", file=str(path))
    doc = load_yaml(path)
    cand = doc.data.get("paper_cand") if isinstance(doc.data, dict) else None
    ok = (isinstance(cand, list) and len(cand) == 4
          and all(isinstance(part, list) and all(type(c) is int for c in part) for part in cand))
    if not ok:
        raise ConfigError("paper_cand: must be four lists of integers (template, search, template mixers, "
                          "search mixers)", file=str(path), line=doc.line(("paper_cand",)))
    return cand


def __getattr__(name: str) -> Any:
    # `PAPER_CAND` stays importable for callers and tests; it is read from the YAML on first use.
    if name == "PAPER_CAND":
        return paper_cand()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def matmul_gflops(n: int = MATMUL_N, repeats: int = 3, device: str = "cpu") -> float:
    """fp32 GEMM rate (GFLOP/s) of an n×n×n `torch.mm` on the current threads: the best of `repeats`."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device)
    b = torch.randn(n, n, generator=g).to(device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    torch.mm(a, b)  # warm-up: first-call allocation and kernel selection
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def moving_shape_video(frames: int, width: int = 320, height: int = 240,
                       seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """A coloured ellipse moving over a textured background: BGR frames and xywh boxes."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 255, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    background = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    boxes = np.zeros((frames, 4))
    out = []
    for i in range(frames):
        t = i / max(frames - 1, 1)
        cx = width * (0.3 + 0.4 * t)
        cy = height * (0.5 + 0.2 * np.sin(2 * np.pi * t))
        w, h = 40 + 10 * np.sin(np.pi * t), 30.0
        frame = background.copy()
        cv2.ellipse(frame, (int(cx), int(cy)), (int(w / 2), int(h / 2)), 0, 0, 360, (40, 60, 230), -1)
        boxes[i] = (cx - w / 2, cy - h / 2, w, h)
        out.append(frame)
    return out, boxes


def _check_block(block: int) -> None:
    if block < 2:
        raise ConfigError(f"--block must be at least 2 frames (the first of each turn is not timed), got {block}")


def turns_for(frames: int, block: int) -> int:
    """Turns of `block` frames that time at least `frames` frames (the first of each turn is not timed)."""
    _check_block(block)
    return -(-frames // (block - 1))


def time_in_turns(trackers: Mapping[K, Any], frames: Sequence[np.ndarray], block: int) -> dict[K, list[float]]:
    """Milliseconds per `track` call of every tracker over the same `frames`, in turns of `block` frames.

    Each tracker tracks `block` consecutive frames, then the next tracker the same frames, and so on:
    load on a shared machine hits all alike, as with frame-by-frame interleaving, but the first frame
    of each turn, which pays for the switch (the caches hold the previous tracker's weights, its thread
    pool may still be awake), is not timed: a deployed tracker runs alone and never pays it.
    Frame-by-frame interleaving measured the switches: an int8 graph took 74 ms per frame interleaved
    and 45 ms alone (BENCHMARKS.md, issue 17). Trailing frames that do not fill a turn are not used.
    """
    _check_block(block)
    turns = len(frames) // block
    if turns < 1:
        raise ValueError(f"timing in turns needs at least one turn of frames (block {block}, {len(frames)} frames)")
    times: dict[K, list[float]] = {k: [] for k in trackers}
    for turn in range(turns):
        for key, tracker in trackers.items():
            for j, frame in enumerate(frames[turn * block:(turn + 1) * block]):
                start = time.perf_counter()
                tracker.track(frame)
                if j:
                    times[key].append((time.perf_counter() - start) * 1000)
    return times


@dataclass(frozen=True)
class BenchModel:
    label: str
    space_file: str
    arch: Callable[[SearchSpace], Architecture]
    text: str | None


def paper_backbone(space: SearchSpace, vlt_scar_space: SearchSpace,
                   cand: list[list[int]] | None = None) -> Architecture:
    """The paper's backbone choices (`cand`, default the paper CAND) in a mixer-free space with the same paths."""
    full = from_cand(vlt_scar_space, cand if cand is not None else paper_cand())
    return space.arch({p: op for p, op in full.items() if not p.endswith((".pre", ".post"))})


def default_models(spaces_dir: str | Path) -> list[BenchModel]:
    d = Path(spaces_dir)
    vlt_scar = d / "vlt_scar.yaml"
    cand = paper_cand(d)
    return [
        BenchModel("VLT-SCAR (paper arch)", str(vlt_scar), lambda s: from_cand(s, cand), "a red ball moving right"),
        BenchModel("SiamCAR (same backbone)", str(d / "siamcar.yaml"),
                   lambda s: paper_backbone(s, load_space(vlt_scar), cand), None),
        BenchModel("SiamCAR ResNet-50", str(d / "siamcar_resnet50.yaml"), lambda s: s.arch({}), None),
    ]


def build_bench_tracker(model: BenchModel, device: str = "cpu") -> tuple[Any, SearchSpace, Architecture]:
    """Random-init subnet → save_subnet → load_subnet → inference tracker (what `nasvl track` runs)."""
    from nasvl.export import load_subnet, save_subnet
    from nasvl.supernet import Subnet
    from nasvl.tracking.tracker import build_tracker

    space = load_space(model.space_file)
    arch = model.arch(space)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        save_subnet(Subnet(space, arch).eval(), tmp)
        subnet = load_subnet(tmp, device=device)
    dim = space.mixer.language_dim if space.mixer else 0
    vector = torch.randn(dim, generator=torch.Generator().manual_seed(1)) if dim else None
    tracker = build_tracker(subnet, embed_text=(lambda _t: vector) if vector is not None else None, device=device)
    return tracker, space, arch


def bench_trackers(spaces_dir: str | Path, frames: int = 40, warmup: int = 5, threads: int | None = None,
                   device: str = "cpu", progress: Callable[[str], None] | None = None,
                   models: list[BenchModel] | None = None, block: int = 8) -> dict[str, Any]:
    """Time every model on the same frames, in turns of `block` frames (`time_in_turns`).

    `frames` is rounded up to whole turns. `models` defaults to VLT-SCAR (paper arch), SiamCAR (same
    backbone), SiamCAR ResNet-50, in that order; the ratios compare the first model with the others.
    """
    from nasvl.cost import CostModel

    turns = turns_for(frames, block)
    models = models or default_models(spaces_dir)
    if len(models) != 3:
        raise ValueError("bench_trackers compares exactly three models (VL, same-backbone, ResNet-50)")
    if threads:
        torch.set_num_threads(threads)
    video, boxes = moving_shape_video(1 + warmup + turns * block)
    built = []
    for model in models:
        if progress:
            progress(f"building {model.label}")
        tracker, space, arch = build_bench_tracker(model, device)
        tracker.initialize(video[0], boxes[0], text=model.text)
        for frame in video[1:1 + warmup]:
            tracker.track(frame)
        built.append((tracker, space, arch))
    if progress:
        progress(f"measuring the fp32 matmul rate ({MATMUL_N}³ torch.mm, {torch.get_num_threads()} threads)")
    gflops = matmul_gflops(device=device)
    if progress:
        progress(f"timing {len(models)} models × {turns * (block - 1)} frames, in turns of {block} frames")
    by_index = time_in_turns({k: tracker for k, (tracker, _, _) in enumerate(built)}, video[1 + warmup:], block)
    times = [by_index[k] for k in range(len(built))]
    rows = []
    for model, (_, space, arch), t in zip(models, built, times, strict=True):
        cost = CostModel(space).cost(arch)
        floor_ms = 2 * cost.per_frame_macs / (gflops * 1e9) * 1000
        rows.append({
            "model": model.label, "space": space.name, "tracker": space.tracker.name if space.tracker else None,
            "arch": arch.key, "params": cost.params, "macs": cost.macs, "per_frame_macs": cost.per_frame_macs,
            "per_frame_gflop": 2 * cost.per_frame_macs / 1e9, "floor_ms": floor_ms, "frames_timed": len(t),
            "min_ms": min(t), "mean_ms": statistics.fmean(t), "median_ms": statistics.median(t),
            "p90_ms": float(np.percentile(t, 90)), "fps": 1000 / statistics.median(t),
            "x_floor": statistics.median(t) / floor_ms, "x_floor_min": min(t) / floor_ms,
        })
    base, base_min = rows[0]["median_ms"], rows[0]["min_ms"]
    for row in rows:
        row["slowdown_vs_vlt_scar"] = row["median_ms"] / base
        row["slowdown_vs_vlt_scar_min"] = row["min_ms"] / base_min
    return {
        "benchmark": f"tracker per-frame latency (whole Tracker.track call, batch 1, in turns of {block} frames, "
                     "the first of each untimed)", "device": device,
        "threads": torch.get_num_threads(), "torch": torch.__version__, "machine": platform.machine(),
        "frames_timed": turns * (block - 1), "warmup": warmup, "block": block,
        "matmul": {"n": MATMUL_N, "dtype": "float32", "gflops": gflops}, "results": rows,
        "speedup_vlt_scar_vs_resnet50": rows[2]["median_ms"] / base,
        "speedup_vlt_scar_vs_siamcar_same_backbone": rows[1]["median_ms"] / base,
        # The minimum is the least disturbed by other processes on a shared machine.
        "speedup_vlt_scar_vs_resnet50_min": rows[2]["min_ms"] / base_min,
        "speedup_vlt_scar_vs_siamcar_same_backbone_min": rows[1]["min_ms"] / base_min,
    }
