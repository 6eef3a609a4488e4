"""The one Pareto front (strategies, run records and the live table all use it)."""

from __future__ import annotations

import math

from nasvl.search.result import TrialResult, pareto_front, smaller_is_better


def test_front_keeps_the_non_dominated_in_order() -> None:
    results = {
        "fast-weak": TrialResult(suc=0.30, latency_ms=5.0),
        "slow-strong": TrialResult(suc=0.60, latency_ms=20.0),
        "dominated": TrialResult(suc=0.29, latency_ms=6.0),     # worse than fast-weak on both
        "middle": TrialResult(suc=0.45, latency_ms=10.0),
        "twin-of-middle": TrialResult(suc=0.45, latency_ms=10.0),  # equal points dominate neither
        "no-latency": TrialResult(suc=0.99),                     # lacks an objective: left out
        "nan": TrialResult(suc=math.nan, latency_ms=1.0),
    }
    front = pareto_front(list(results), lambda n: smaller_is_better(results[n], ("suc", "latency_ms")))
    assert front == ["fast-weak", "slow-strong", "middle", "twin-of-middle"]


def test_vector_negates_maximised_objectives() -> None:
    r = TrialResult(suc=0.5, prec=0.7, latency_ms=12.0, macs=100)
    assert smaller_is_better(r, ("suc", "prec", "latency_ms", "macs")) == (-0.5, -0.7, 12.0, 100.0)
    assert smaller_is_better(r, ("suc", "params")) is None


def test_the_search_objectives_reach_the_strategy() -> None:
    import pytest

    from nasvl.errors import ConfigError
    from nasvl.search.strategy import build_strategy
    from nasvl.testing.strategies import toy_space

    s = build_strategy("random", toy_space(), objectives=("suc", "macs"), budget=4)
    assert s.objectives == ("suc", "macs")
    with pytest.raises(ConfigError, match="first objective"):
        build_strategy("spos_evolution", toy_space(), objectives=("macs", "suc"))
    with pytest.raises(ConfigError, match="repeat"):
        build_strategy("random", toy_space(), objectives=("suc", "suc"))
