"""Every registered strategy runs the shipped conformance suite (nasvl.testing.strategies)."""

from __future__ import annotations

import pytest

from nasvl.search import STRATEGIES
from nasvl.testing.strategies import CHECKS, strategy_names


def test_builtins_registered() -> None:
    assert {"spos_evolution", "random", "optuna"} <= set(strategy_names())


@pytest.mark.parametrize("name", strategy_names())
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(name, check, tmp_path) -> None:
    check(STRATEGIES.get(name), tmp_path)
