"""Rank correlation between two scorings of the same architectures, with bootstrap CIs.

Used by `nasvl search fidelity` (supernet score vs stand-alone score). Kendall's τ is the
tau-b variant (ties in either scoring are corrected for, as in scipy's default), Spearman's ρ
is Pearson's r of average ranks. The bootstrap resamples *architectures* with replacement
(the unit the question is about: would another draw of K architectures rank the same way);
resamples where a scoring is constant have no correlation and are skipped.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

BOOTSTRAP_SAMPLES = 2000


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b; NaN when either scoring is constant (no ranking to compare)."""
    _check(x, y)
    concordant = discordant = ties_x = ties_y = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denom if denom else math.nan


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks; tied values share the mean of their positions."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman_rho(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho (Pearson's r of average ranks); NaN when either scoring is constant."""
    _check(x, y)
    rx, ry = average_ranks(x), average_ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return cov / math.sqrt(vx * vy) if vx and vy else math.nan


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float          # bootstrap percentile interval at `level`
    high: float
    level: float
    samples: int        # bootstrap resamples that had a defined correlation

    def to_dict(self) -> dict[str, float | int | None]:
        def clean(v: float) -> float | None:
            return None if math.isnan(v) else round(v, 6)

        return {"value": clean(self.value), "low": clean(self.low), "high": clean(self.high),
                "level": self.level, "samples": self.samples}


def bootstrap(x: Sequence[float], y: Sequence[float], statistic: Callable[[Sequence[float], Sequence[float]], float],
              *, samples: int = BOOTSTRAP_SAMPLES, level: float = 0.95, seed: int = 0) -> Estimate:
    """`statistic(x, y)` with a percentile CI from resampling the (x_i, y_i) pairs."""
    _check(x, y)
    rng = random.Random(seed)
    n = len(x)
    values = []
    for _ in range(samples):
        idx = [rng.randrange(n) for _ in range(n)]
        v = statistic([x[i] for i in idx], [y[i] for i in idx])
        if not math.isnan(v):
            values.append(v)
    values.sort()
    if not values:
        return Estimate(statistic(x, y), math.nan, math.nan, level, 0)
    lo = values[int(math.floor((1 - level) / 2 * (len(values) - 1)))]
    hi = values[int(math.ceil((1 + level) / 2 * (len(values) - 1)))]
    return Estimate(statistic(x, y), lo, hi, level, len(values))


def spread_indices(n: int, k: int) -> list[int]:
    """`k` distinct indices evenly spread over 0..n-1 (both ends included): a sorted list's score range."""
    if k >= n:
        return list(range(n))
    if k == 1:
        return [n - 1]
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def _check(x: Sequence[float], y: Sequence[float]) -> None:
    if len(x) != len(y):
        raise ValueError(f"two scorings of different lengths ({len(x)} and {len(y)})")
    if len(x) < 2:
        raise ValueError(f"a rank correlation needs at least 2 architectures, got {len(x)}")
