"""Search: the `Strategy` base class, trial results, and (later) the evaluator and Ray Tune adapter."""

from __future__ import annotations

from nasvl.search.result import TrialResult
from nasvl.search.strategy import (
    STRATEGIES,
    Proposal,
    Strategy,
    Trial,
    UnknownTrialError,
    build_strategy,
    register_strategy,
)

__all__ = [
    "STRATEGIES", "Proposal", "Strategy", "Trial", "TrialResult", "UnknownTrialError", "build_strategy",
    "register_strategy",
]
