"""Bootstrap intervals over videos: determinism, edge cases, planted effects and coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasvl.metrics.bootstrap import MAX_RESAMPLES, bootstrap_mean, paired_bootstrap_diff


def test_mean_interval_is_seeded_and_brackets_the_mean() -> None:
    values = np.random.default_rng(1).uniform(0.2, 0.6, size=40)
    a, b = bootstrap_mean(values), bootstrap_mean(values)
    assert a == b  # same values, same interval: seeded
    assert a.n == 40 and a.estimate == pytest.approx(values.mean())
    assert a.lo < a.estimate < a.hi
    assert a.hi - a.lo < 0.2
    other_seed = bootstrap_mean(values, seed=7)
    assert other_seed.lo != a.lo and other_seed.lo == pytest.approx(a.lo, abs=0.02)


def test_edge_cases_give_no_interval_with_a_reason() -> None:
    empty = bootstrap_mean([])
    assert empty.n == 0 and math.isnan(empty.estimate) and math.isnan(empty.lo) and empty.note == "no videos"
    one = bootstrap_mean([0.4])
    assert one.n == 1 and one.estimate == 0.4 and math.isnan(one.lo) and math.isnan(one.hi)
    assert "one video" in one.note and not one.excludes_zero
    assert one.as_suc()["ci_note"] == one.note
    nan_dropped = bootstrap_mean([0.1, float("nan"), 0.3])
    assert nan_dropped.n == 2 and nan_dropped.estimate == pytest.approx(0.2)
    pair = paired_bootstrap_diff([0.5, float("nan")], [0.2, 0.3])
    assert pair.n == 1 and math.isnan(pair.lo)
    with pytest.raises(ValueError, match="same videos"):
        paired_bootstrap_diff([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="MAX_RESAMPLES"):
        bootstrap_mean([0.1, 0.2], resamples=MAX_RESAMPLES + 1)
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_mean([0.1, 0.2], resamples=0)


def test_identical_sides_give_exactly_zero() -> None:
    values = np.random.default_rng(2).uniform(size=30)
    d = paired_bootstrap_diff(values, values.copy())
    assert (d.estimate, d.lo, d.hi, d.n) == (0.0, 0.0, 0.0, 30)
    assert not d.excludes_zero
    assert d.as_diff() == {"diff": 0.0, "ci": [0.0, 0.0], "n_videos": 30, "excludes_zero": False}


def test_planted_paired_effect_is_found_and_a_null_one_is_not() -> None:
    rng = np.random.default_rng(3)
    difficulty = rng.uniform(0.1, 0.9, size=40)  # videos differ a lot; the trackers differ little
    better = np.clip(difficulty + 0.05 + rng.normal(0, 0.02, 40), 0, 1)
    d = paired_bootstrap_diff(better, difficulty)
    assert d.excludes_zero and d.lo > 0 and d.lo < 0.05 < d.hi
    # Unpaired intervals of the two means overlap widely: pairing is what finds the effect.
    a, b = bootstrap_mean(better), bootstrap_mean(difficulty)
    assert a.lo < b.hi
    null = paired_bootstrap_diff(difficulty + rng.normal(0, 0.02, 40), difficulty)
    assert null.lo < 0 < null.hi and not null.excludes_zero
    flipped = paired_bootstrap_diff(difficulty, better)
    assert flipped.hi < 0 and flipped.excludes_zero


def test_coverage_of_the_mean_interval_is_near_95_percent() -> None:
    rng = np.random.default_rng(4)
    trials, hits = 300, 0
    for i in range(trials):
        sample = rng.beta(2, 3, size=40)  # true mean 0.4, skewed like per-video SUC
        ci = bootstrap_mean(sample, resamples=500, seed=i)
        hits += ci.lo <= 0.4 <= ci.hi
    # A percentile bootstrap on 40 videos under-covers a little; 300 trials give a ±2.5 % spread.
    assert 0.88 <= hits / trials <= 0.99
