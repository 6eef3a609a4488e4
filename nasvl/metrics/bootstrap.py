"""Paired bootstrap over videos (minimal; h1's fuller module of the same name and API replaces it at merge).

`paired_bootstrap_diff(a, b)`: mean(a) − mean(b) over the same videos and the 95 % percentile
interval of that difference, one set of resampled video indices serving both sides. Seeded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 0


@dataclass(frozen=True)
class Interval:
    estimate: float
    lo: float
    hi: float
    n: int
    note: str | None = None

    @property
    def excludes_zero(self) -> bool:
        return math.isfinite(self.lo) and math.isfinite(self.hi) and (self.lo > 0 or self.hi < 0)

    def as_diff(self) -> dict[str, Any]:
        out: dict[str, Any] = {"diff": self.estimate, "ci": [self.lo, self.hi], "n_videos": self.n,
                               "excludes_zero": self.excludes_zero}
        if self.note:
            out["ci_note"] = self.note
        return out


def paired_bootstrap_diff(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *,
                          resamples: int = RESAMPLES, seed: int = SEED, confidence: float = CONFIDENCE) -> Interval:
    x, y = np.asarray(a, dtype=np.float64).reshape(-1), np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"paired values need the same videos: {len(x)} vs {len(y)}")
    d = (x - y)[np.isfinite(x) & np.isfinite(y)]
    if len(d) < 2:
        return Interval(float(d.mean()) if len(d) else math.nan, math.nan, math.nan, len(d),
                        "fewer than two videos: no interval")
    idx = np.random.default_rng(seed).integers(0, len(d), (resamples, len(d)))
    means = d[idx].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    return Interval(float(d.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail)),
                    len(d))
