"""Ranking fidelity (issue 16, item 1): the statistics on planted rankings, the choice of K, the summary."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from nasvl.search.fidelity import summarize
from nasvl.search.ranking import average_ranks, bootstrap, kendall_tau, spearman_rho, spread_indices


def _brute_tau_a(x: list[float], y: list[float]) -> float:
    pairs = list(itertools.combinations(range(len(x)), 2))
    s = sum((1 if (x[i] - x[j]) * (y[i] - y[j]) > 0 else -1) for i, j in pairs)
    return s / len(pairs)


def test_planted_rankings_give_the_known_tau_and_rho() -> None:
    x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    assert kendall_tau(x, [v * 3 + 1 for v in x]) == pytest.approx(1.0)
    assert kendall_tau(x, [-v for v in x]) == pytest.approx(-1.0)
    assert spearman_rho(x, [math.exp(v) for v in x]) == pytest.approx(1.0)  # monotone, not linear
    # One adjacent swap among 6: 1 discordant pair of 15 -> tau = 13/15; d^2 sum 2 -> rho = 1 - 6*2/(6*35).
    y = [1, 2, 4, 3, 5, 6]
    assert kendall_tau(x, y) == pytest.approx(13 / 15)
    assert spearman_rho(x, y) == pytest.approx(1 - 12 / 210)


def test_tau_matches_brute_force_without_ties_and_tau_b_with_ties() -> None:
    rng = random.Random(3)
    for _ in range(20):
        x = [rng.random() for _ in range(9)]
        y = [rng.random() for _ in range(9)]
        assert kendall_tau(x, y) == pytest.approx(_brute_tau_a(x, y))
    # tau-b with ties (value from scipy.stats.kendalltau([1,2,2,3],[1,3,2,4]) = 0.9128709...)
    assert kendall_tau([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(0.912870929, abs=1e-8)
    assert average_ranks([3, 1, 3, 2]) == [3.5, 1, 3.5, 2]
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3])) and math.isnan(spearman_rho([1, 2, 3], [5, 5, 5]))


def test_bootstrap_ci_brackets_the_estimate_and_narrows_with_agreement() -> None:
    rng = random.Random(0)
    x = [rng.random() for _ in range(12)]
    noisy = [v + rng.gauss(0, 0.3) for v in x]
    est = bootstrap(x, noisy, kendall_tau, samples=500)
    assert est.low <= est.value <= est.high and est.samples > 400
    perfect = bootstrap(x, x, kendall_tau, samples=500)
    assert (perfect.value, perfect.low, perfect.high) == (1.0, 1.0, 1.0)
    assert bootstrap(x, noisy, kendall_tau, samples=200, seed=5) == bootstrap(x, noisy, kendall_tau, samples=200,
                                                                              seed=5)


def test_spread_indices_cover_the_score_range() -> None:
    assert spread_indices(10, 4) == [0, 3, 6, 9]
    assert spread_indices(5, 5) == [0, 1, 2, 3, 4] and spread_indices(3, 8) == [0, 1, 2]
    for n, k in [(7, 3), (100, 9), (11, 10)]:
        idx = spread_indices(n, k)
        assert len(idx) == k and idx[0] == 0 and idx[-1] == n - 1 and len(set(idx)) == k


def test_summary_correlates_planted_scores_and_skips_failed_evaluations() -> None:
    plan = {"k": 5, "train_steps": 10, "init": "scratch"}
    sup = [0.1, 0.2, 0.3, 0.4, 0.5]
    alone = [0.05, 0.25, 0.2, 0.45, None]  # one swap among the four that evaluated; the fifth failed
    results = [{"trial": f"{i:06d}", "arch": {}, "supernet_suc": s,
                "standalone": {"suc": a, "error": None if a is not None else "boom"}}
               for i, (s, a) in enumerate(zip(sup, alone, strict=True))]
    s = summarize(results, plan)
    assert (s["evaluated"], s["failed"]) == (4, 1)
    assert s["kendall_tau"]["value"] == pytest.approx(4 / 6)  # 5 concordant, 1 discordant of 6
    assert s["spearman_rho"]["value"] == pytest.approx(0.8)
    assert s["points"][4]["standalone_suc"] is None


def test_a_foreign_or_broken_plan_is_one_clear_error(tmp_path) -> None:
    from nasvl.errors import NasvlError
    from nasvl.search.fidelity import _plan

    out = tmp_path / "fidelity"
    out.mkdir()
    (out / "plan.json").write_text('{"version": 1, "k": 3, "train_steps": 5, "init": "scratch", '
                                   '"archs": [{"trial": "x", "arch": {}, "supernet_suc": "__import__"}]}')
    with pytest.raises(NasvlError, match="not a nasvl fidelity plan"):
        _plan(None, out, 3, 5, "scratch")  # type: ignore[arg-type]
