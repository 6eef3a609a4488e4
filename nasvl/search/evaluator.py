"""Scoring one architecture of a trained supernet (paper Eq. 3, SPOS evaluation).

For each candidate: inherit the supernet weights (no copy: the path runs inside
the supernet), recalibrate BN on the path with K training batches, track the
validation videos, and return a `TrialResult` with SUC / P / PNorm, params and
MACs from the cost model, the per-frame latency measured under the deployment runtime
(`latency_runtime`), and the wall time.

What every candidate shares is prepared once per evaluator: validation frames
are decoded into memory, descriptions are embedded once, and the K
recalibration batches are drawn once (SPOS recalibrates every candidate on the
same training subset, which also makes scores comparable).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.utils.data import default_collate

from nasvl.cost import CostModel, measure_arch_ms
from nasvl.data.pairs import PairDataset
from nasvl.data.video import Video
from nasvl.deploy.runtimes import RUNTIMES
from nasvl.metrics.dataset import evaluate_tracker
from nasvl.search.result import TrialResult
from nasvl.space import Architecture
from nasvl.supernet import Supernet, recalibrate_bn
from nasvl.tracking.run import first_frames, track_videos
from nasvl.tracking.tracker import build_tracker
from nasvl.train.loop import language_input


@dataclass(frozen=True)
class EvalConfig:
    recalibration_batches: int = 8      # K train-mode forward passes on training pairs
    recalibration_batch_size: int = 8
    max_frames: int | None = None       # track only the first M frames of each video
    max_videos: int | None = None
    benchmark: str | None = None        # tracker hyper-parameter set (None: the file's default)
    language_fallback: Literal["zeros", "template"] = "zeros"
    use_language: bool = True           # False: track without descriptions (ablation)
    device: str = "cpu"
    latency_repeats: int = 5
    # The runtime the tracker will be deployed with: the latency objective and constraint are its
    # figures (nasvl.cost.timing). ONNX runtimes export each candidate's graphs (seconds each).
    latency_runtime: Literal[RUNTIMES] = "torch"  # type: ignore[valid-type]
    threads: int | None = None


def recalibrate_on_pairs(supernet: Supernet, arch: Architecture, batches: list[dict[str, Any]],
                         device: torch.device) -> None:
    """Re-estimate BN statistics on `arch`'s path from collated training-pair batches."""
    if not batches:
        return
    mixer = supernet.space.mixer is not None

    def forward(net: Supernet, batch: dict[str, Any]) -> None:
        lang = language_input(batch, device) if mixer else None
        net.track_forward(batch["template"].to(device), batch["search"].to(device), arch, lang)

    recalibrate_bn(supernet, arch, batches, forward=forward)
    supernet.eval()


def recalibration_batches(pairs: PairDataset, config: EvalConfig) -> list[dict[str, Any]]:
    """The K training batches every candidate recalibrates BN on: drawn once, so candidates are
    compared on the same statistics."""
    n, bs = config.recalibration_batches, config.recalibration_batch_size
    return [default_collate([pairs[i * bs + j] for j in range(bs)]) for i in range(n)]


class Evaluator:
    def __init__(self, supernet: Supernet, videos: Sequence[Video], recal_batches: list[dict[str, Any]],
                 embeddings: dict[str, torch.Tensor] | None, config: EvalConfig = EvalConfig()) -> None:
        self.cfg = config
        if config.threads:
            torch.set_num_threads(config.threads)
        self.device = torch.device(config.device)
        self.supernet = supernet.to(self.device).eval()
        self.cost = CostModel.for_space(supernet.space)
        chosen = list(videos)[: config.max_videos] if config.max_videos else list(videos)
        self.videos = [first_frames(v, config.max_frames) for v in chosen]
        # Decoded once; every candidate tracks the same in-memory frames.
        self.frames = {v.name: [v.frame(i) for i in range(len(v))] for v in self.videos}
        self.embeddings = embeddings or {}
        self.batches = recal_batches

    def _embed(self, text: str) -> torch.Tensor | None:
        return self.embeddings.get(text) if self.cfg.use_language else None

    def recalibrate(self, arch: Architecture) -> None:
        recalibrate_on_pairs(self.supernet, arch, self.batches, self.device)

    @torch.no_grad()
    def track(self, arch: Architecture) -> dict[str, Any]:
        tracker = build_tracker((self.supernet, arch), benchmark=self.cfg.benchmark, embed_text=self._embed,
                                device=self.device, language_fallback=self.cfg.language_fallback)
        texts = {v.name: v.description for v in self.videos} if self.cfg.use_language else None
        return evaluate_tracker(self.videos, track_videos(tracker, self.videos, self.frames, texts))

    def evaluate(self, arch: Architecture) -> TrialResult:
        started = time.perf_counter()
        try:
            self.recalibrate(arch)
            overall = self.track(arch)["overall"]
            cost = self.cost.cost(arch)
            latency = measure_arch_ms(self.supernet, arch, self.device, self.cfg.latency_repeats,
                                      self.cfg.latency_runtime)
            return TrialResult(suc=float(overall["suc"]), prec=float(overall["prec"]),
                               norm_prec=float(overall["norm_prec"]), params=cost.params, macs=cost.macs,
                               latency_ms=latency, wall_s=time.perf_counter() - started)
        except Exception as exc:  # a candidate that crashes is a failed trial, not a failed search
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            return TrialResult.failed(detail, wall_s=time.perf_counter() - started)


