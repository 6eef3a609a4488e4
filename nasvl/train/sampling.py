"""Architecture sampling for supernet training (SPOS Γ).

`uniform`: independent and uniform per free block, after ties.
`constrained`: SPOS's FLOPs-aware sampling — draw a MACs bin uniformly, then
rejection-sample until the path's MACs fall inside it (and every space
constraint holds). This flattens the MACs distribution that uniform sampling
concentrates around the middle.
"""

from __future__ import annotations

import random
from typing import Literal

from nasvl.cost import CostModel
from nasvl.errors import ConfigError
from nasvl.space import Architecture, SearchSpace


class ArchSampler:
    """Draws the path each training step trains; a draw depends only on (seed, step), so every
    data-parallel rank derives the same path without communicating, and resuming needs no state."""

    def __init__(self, space: SearchSpace, seed: int = 0, mode: Literal["uniform", "constrained"] = "uniform",
                 bins: int = 5, max_tries: int = 1000) -> None:
        self.space, self.mode, self.bins, self.max_tries = space, mode, bins, max_tries
        self.seed = seed
        if mode not in ("uniform", "constrained"):
            raise ConfigError(f"unknown sampling mode {mode!r} (known: constrained, uniform)")
        self._edges: list[float] | None = None

    def _cost(self) -> CostModel:
        return CostModel.for_space(self.space)

    def _bin_edges(self) -> list[float]:
        if self._edges is None:
            # Bin between the cheapest and the most expensive path, estimated from a probe sample.
            probe = random.Random(12345)
            cost = self._cost()
            macs = sorted(cost.macs(self.space.sample(probe)) for _ in range(200))
            lo, hi = macs[0], macs[-1]
            self._edges = [lo + (hi - lo) * i / self.bins for i in range(self.bins + 1)]
        return self._edges

    def sample(self, step: int) -> Architecture:
        """The architecture trained at `step`."""
        rng = random.Random(f"{self.seed}:{step}")
        if self.mode == "uniform":
            return self.space.sample(rng)
        cost = self._cost()
        edges = self._bin_edges()
        k = rng.randrange(self.bins)
        lo, hi = edges[k], edges[k + 1]
        for _ in range(self.max_tries):
            arch = self.space.sample(rng)
            m = cost.macs(arch)
            if lo <= m <= hi and cost.satisfies(arch):
                return arch
        raise ConfigError(f"constrained sampling found no architecture in MACs bin [{lo:.0f}, {hi:.0f}] "
                          f"after {self.max_tries} tries; loosen the constraints or use mode: uniform")
