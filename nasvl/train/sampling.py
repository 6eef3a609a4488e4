"""Architecture sampling for supernet training (SPOS Γ).

`uniform`: independent and uniform per free block, after ties.
`constrained`: SPOS's FLOPs-aware sampling — draw a MACs bin uniformly, then
rejection-sample until the path's MACs fall inside it (and every space
constraint holds). This flattens the MACs distribution that uniform sampling
concentrates around the middle.

The sandwich rule (BigNAS, OFA) trains several paths per step: the space's largest and smallest
path by the cost model's MACs, plus N random paths drawn as above. Training the extremes every
step keeps the two ends of the supernet's range from starving under uniform sampling, and gives
in-place distillation (nasvl/train/distill.py) a teacher: the largest path.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from nasvl.config.limits import SANDWICH_PATHS, bounded
from nasvl.cost import CostModel
from nasvl.errors import ConfigError
from nasvl.space import Architecture, SearchSpace


@dataclass(frozen=True)
class SandwichConfig:
    """`train.sandwich: {random: N}`: each step trains largest + smallest + N random paths."""

    random: int = bounded(SANDWICH_PATHS, 2, minimum=0)


def extreme_paths(space: SearchSpace) -> tuple[Architecture, Architecture]:
    """(largest, smallest) path by MACs over the whole space, constraints ignored: the supernet
    trains every weight, and the constraints only restrict what the search may pick.

    A slot's MACs depend only on its own op (channels and resolution are fixed by the space), so
    the total is a sum over free blocks (a tied block adds to its leader's) and choosing each free
    block's costliest (cheapest) op on its own is exact. Ties between ops go to the first listed.
    """
    cost = CostModel.for_space(space)
    base = {b.path: b.options[0] for b in space.free_blocks}
    picks: list[dict[str, str]] = [{}, {}]
    for block in space.free_blocks:
        macs = [cost.macs(space.arch({**base, block.path: op})) for op in block.options]
        picks[0][block.path] = block.options[macs.index(max(macs))]
        picks[1][block.path] = block.options[macs.index(min(macs))]
    return space.arch(picks[0]), space.arch(picks[1])


class ArchSampler:
    """Draws the path each training step trains; a draw depends only on (seed, step), so every
    data-parallel rank derives the same path without communicating, and resuming needs no state."""

    def __init__(self, space: SearchSpace, seed: int = 0, mode: Literal["uniform", "constrained"] = "uniform",
                 bins: int = 5, max_tries: int = 1000, sandwich: SandwichConfig | None = None) -> None:
        self.space, self.mode, self.bins, self.max_tries = space, mode, bins, max_tries
        self.seed, self.sandwich = seed, sandwich
        self._extremes: tuple[Architecture, Architecture] | None = None
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

    def paths(self, step: int) -> list[Architecture]:
        """Every path trained at `step`, teacher first: [sample(step)] without the sandwich rule,
        else [largest, smallest, N random]. Like `sample`, a function of (seed, step) alone."""
        if self.sandwich is None:
            return [self.sample(step)]
        if self._extremes is None:
            self._extremes = extreme_paths(self.space)
        return [*self._extremes, *(self._draw(f"{self.seed}:{step}:{i}") for i in range(self.sandwich.random))]

    def sample(self, step: int) -> Architecture:
        """The architecture trained at `step` (one path per step)."""
        return self._draw(f"{self.seed}:{step}")

    def _draw(self, key: str) -> Architecture:
        rng = random.Random(key)
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
