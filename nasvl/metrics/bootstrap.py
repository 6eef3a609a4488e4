"""Bootstrap confidence intervals over videos: the one home of nasvl's uncertainty figures.

A benchmark score is a mean of per-video values (SUC weighs videos equally), so its
uncertainty is that of the sample of videos. `bootstrap_mean` resamples videos with
replacement and takes the 2.5 and 97.5 percentiles of the resampled means (a 95 %
percentile bootstrap). `paired_bootstrap_diff` compares two trackers (or two language
modes of one tracker) on the *same* videos: each resample draws one set of video
indices and applies it to both, so what the videos have in common (an easy video is easy
for both) cancels, and the interval is that of the difference, not of two separate means.

Everything is seeded: the same values give the same interval on every run and machine.
With fewer than two videos there is no interval: the bounds are NaN (null in JSON) and
`note` says why, rather than a crash or a zero-width interval that looks certain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RESAMPLES = 2000            # bootstrap resamples per interval: the percentiles settle to ~0.1 points
MAX_RESAMPLES = 100_000     # a bound for callers that pass their own count
CONFIDENCE = 0.95
SEED = 0
_CHUNK_VALUES = 4_000_000   # resampled values held in memory at once (32 MB of float64)


@dataclass(frozen=True)
class Interval:
    """An estimate over `n` videos and its bootstrap interval (NaN bounds, with `note`, when there is none)."""

    estimate: float
    lo: float
    hi: float
    n: int
    note: str | None = None

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0 (a difference the videos support)."""
        return math.isfinite(self.lo) and math.isfinite(self.hi) and (self.lo > 0 or self.hi < 0)

    def as_suc(self) -> dict[str, Any]:
        """JSON fields of a SUC with its interval."""
        out: dict[str, Any] = {"suc": self.estimate, "suc_ci": [self.lo, self.hi], "n_videos": self.n}
        if self.note:
            out["ci_note"] = self.note
        return out

    def as_diff(self) -> dict[str, Any]:
        """JSON fields of a paired difference with its interval."""
        out: dict[str, Any] = {"diff": self.estimate, "ci": [self.lo, self.hi], "n_videos": self.n,
                               "excludes_zero": self.excludes_zero}
        if self.note:
            out["ci_note"] = self.note
        return out


def _check(resamples: int, confidence: float) -> None:
    if not 1 <= resamples <= MAX_RESAMPLES:
        raise ValueError(f"resamples must be in 1..{MAX_RESAMPLES} (MAX_RESAMPLES in nasvl/metrics/bootstrap.py), "
                         f"got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _resampled_means(values: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Means of `resamples` with-replacement resamples of `values`, drawn in memory-bounded chunks."""
    n = len(values)
    rng = np.random.default_rng(seed)
    per_chunk = max(1, _CHUNK_VALUES // n)
    means = np.empty(resamples)
    for start in range(0, resamples, per_chunk):
        stop = min(resamples, start + per_chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[idx].mean(axis=1)
    return means


def _interval(values: np.ndarray, resamples: int, seed: int, confidence: float) -> Interval:
    n = len(values)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, "no videos")
    estimate = float(values.mean())
    if n == 1:
        return Interval(estimate, math.nan, math.nan, 1, "one video: no interval")
    if np.all(values == values[0]):  # every resample gives the same mean: no spread to estimate
        return Interval(estimate, float(values[0]), float(values[0]), n)
    tail = 100 * (1 - confidence) / 2
    lo, hi = np.percentile(_resampled_means(values, resamples, seed), [tail, 100 - tail])
    return Interval(estimate, float(lo), float(hi), n)


def bootstrap_mean(values: Sequence[float] | np.ndarray, *, resamples: int = RESAMPLES, seed: int = SEED,
                   confidence: float = CONFIDENCE) -> Interval:
    """The mean of per-video `values` and its percentile bootstrap interval over videos.

    Non-finite values (videos a protocol cannot score) are left out; `n` counts the rest.
    """
    _check(resamples, confidence)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return _interval(v[np.isfinite(v)], resamples, seed, confidence)


def paired_bootstrap_diff(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray, *,
                          resamples: int = RESAMPLES, seed: int = SEED, confidence: float = CONFIDENCE) -> Interval:
    """mean(a) - mean(b) over the same videos (a[i] and b[i] are video i) and its paired interval.

    One set of resampled video indices serves both sides, so the interval is the bootstrap of
    the per-video differences. Videos where either side is not finite are left out of both.
    """
    _check(resamples, confidence)
    x, y = np.asarray(a, dtype=np.float64).reshape(-1), np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"paired values need the same videos: {len(x)} vs {len(y)}")
    both = np.isfinite(x) & np.isfinite(y)
    # mean over a resample of x minus that of y equals the mean of x - y over the same indices.
    return _interval(x[both] - y[both], resamples, seed, confidence)
