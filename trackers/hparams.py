"""Inference hyper-parameter schemas. The values live in `trackers/params/*.yaml`, one set per benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PARAMS_DIR = Path(__file__).parent / "params"


@dataclass(frozen=True)
class ScarParams:
    penalty_k: float = 0.04          # k of the scale/ratio penalty exp(-(r·s − 1)·k)
    window_influence: float = 0.3    # w: score·(1 − w) + cosine window·w
    lr: float = 0.33                 # size update rate (scaled by penalty × score at the peak)
    min_size: float = 10.0           # box sides never shrink below this (pixels)
    context: float = 0.5             # pysot context amount around the target


@dataclass(frozen=True)
class TTParams:
    window_influence: float = 0.49   # TransT: 0.49 on LaSOT
    min_size: float = 10.0
    context: float = 0.5
    penalty_k: float = 0.0           # official VLT-TT scale/ratio penalty k (0: none, as on LaSOT/TNL2K)
    lr: float = 1.0                  # size update rate (× penalty × peak score when penalty_k ≠ 0)
