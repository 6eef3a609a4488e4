"""Built-in search strategies; importing this package registers them (entry point ``nasvl.strategies``)."""

from __future__ import annotations

from strategies.optuna_strategy import OptunaStrategy
from strategies.random_search import RandomSearch
from strategies.spos_evolution import SposEvolution

__all__ = ["OptunaStrategy", "RandomSearch", "SposEvolution"]
