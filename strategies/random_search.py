"""Uniform random search under the space's constraints, with dedup (registered as ``random``).

The baseline every other strategy must beat (Li & Talwalkar 2019 found it hard
to beat on weight-sharing NAS). Candidates are drawn uniformly per free block
(``space.sample``), rejected when already proposed or over the params/MACs
constraints, and the search stops after `budget` proposals or when every
feasible architecture was proposed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nasvl.config.limits import SEARCH_BUDGET, bounded
from nasvl.errors import ConfigError
from nasvl.search.strategy import Strategy, register_strategy
from nasvl.space import Architecture


@dataclass(frozen=True)
class RandomOptions:
    budget: int = bounded(SEARCH_BUDGET, 1000)  # architectures proposed for evaluation
    max_tries: int = 1000  # draws per proposal before concluding the (feasible) space is exhausted

    def __post_init__(self) -> None:
        if self.budget < 1 or self.max_tries < 1:
            raise ConfigError("random: budget and max_tries must be >= 1")


@register_strategy("random")
class RandomSearch(Strategy):
    Options = RandomOptions
    conformance_options = {"budget": 30}

    def __init__(self, space: Any, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(space, seed, **kwargs)
        self._dry = False  # sample_unseen found nothing new: stop

    def propose(self, n: int) -> list[Architecture]:
        out: list[Architecture] = []
        taken: set[str] = set()
        while len(out) < n and len(self._trials) + len(out) < self.options.budget:
            arch = self.sample_unseen(self.options.max_tries, exclude=taken)
            if arch is None:
                self._dry = True
                break
            out.append(arch)
            taken.add(arch.key)
        return out

    @property
    def exhausted(self) -> bool:
        return self._dry or len(self._trials) >= self.options.budget

    def strategy_state(self) -> dict[str, Any]:
        return {"dry": self._dry}

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        self._dry = bool(state["dry"])
