"""SPOS evolutionary search (Guo et al. 2020; VLT paper Eq. 3 / Algorithm 1 line 18).

Generation 0 is `population` uniform random architectures. Every later
generation is `mutations` children of random top-k parents (each free block
re-drawn with probability `mutation_prob`), `crossovers` children of two random
top-k parents (each free block from either parent), then random architectures
up to `population`. The top-k is elitist over everything evaluated so far, as in
SPOS's ``keep_top_k``.

Differences from the official VLT/SPOS code, on purpose:
* mutation and crossover go over **every** free block (``space.free_blocks``),
  the search branch's mixers included (the official code never mutated them);
* candidates that break the space's params/MACs constraints are rejected before
  evaluation (bounded retries: `max_tries` per wanted child);
* a candidate already proposed is never evaluated again: it is rejected like an
  illegal one, and its known result already sits in the elitist ranking;
* the final generation is ranked too (the official loop evaluated it but never
  updated the top-k), and failed/NaN results never enter the top-k.

A generation is only bred once all its results are in; ``ask`` returns fewer
proposals meanwhile, which a Ray Tune searcher turns into "wait".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nasvl.config.limits import SEARCH_BUDGET, bounded
from nasvl.errors import ConfigError
from nasvl.search.strategy import Strategy, Trial, register_strategy
from nasvl.space import Architecture


@dataclass(frozen=True)
class EvolutionOptions:
    population: int = bounded(SEARCH_BUDGET, 50)
    top_k: int = 10
    mutations: int = 25
    mutation_prob: float = 0.1
    crossovers: int = 25
    generations: int = bounded(SEARCH_BUDGET, 20)
    max_tries: int = 10  # attempts per wanted child / random candidate (SPOS uses 10x)

    def __post_init__(self) -> None:
        if self.population < 1 or self.top_k < 1 or self.generations < 1 or self.max_tries < 1:
            raise ConfigError("spos_evolution: population, top_k, generations and max_tries must be >= 1")
        if self.mutations < 0 or self.crossovers < 0:
            raise ConfigError("spos_evolution: mutations and crossovers must be >= 0")
        if not 0.0 <= self.mutation_prob <= 1.0:
            raise ConfigError(f"spos_evolution: mutation_prob must be in [0, 1], got {self.mutation_prob}")


@register_strategy("spos_evolution")
class SposEvolution(Strategy):
    Options = EvolutionOptions
    conformance_options = {"population": 8, "top_k": 3, "mutations": 4, "crossovers": 3, "generations": 4,
                           "mutation_prob": 0.3}

    def __init__(self, space: Any, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(space, seed, **kwargs)
        self.generation = -1  # index of the generation being evaluated; -1 before the first ask
        self._queue: list[Architecture] = []  # bred but not yet proposed
        self._members: list[list[str]] = []  # trial ids per generation (for reports: score vs generation)
        self._tops: list[list[str]] = []  # top-k trial ids after ranking each generation
        self._finished = False

    # ---- breeding -------------------------------------------------------------------------
    def mutate_children(self, parents: list[Architecture], count: int, taken: set[str]) -> list[Architecture]:
        out: list[Architecture] = []
        for _ in range(count * self.options.max_tries):
            if len(out) >= count or not parents:
                break
            child = self.space.mutate(self.rng.choice(parents), self.rng, self.options.mutation_prob)
            if child.key not in taken and self.admissible(child):
                out.append(child)
                taken.add(child.key)
        return out

    def crossover_children(self, parents: list[Architecture], count: int, taken: set[str]) -> list[Architecture]:
        out: list[Architecture] = []
        for _ in range(count * self.options.max_tries):
            if len(out) >= count or len(parents) < 2:
                break
            a, b = self.rng.choice(parents), self.rng.choice(parents)
            child = self.space.crossover(a, b, self.rng)
            if child.key not in taken and self.admissible(child):
                out.append(child)
                taken.add(child.key)
        return out

    def _breed(self) -> list[Architecture]:
        o = self.options
        taken: set[str] = set()
        children: list[Architecture] = []
        if self.generation > 0:
            parents = [self._trials[i].arch for i in self._tops[-1]]
            children += self.mutate_children(parents, o.mutations, taken)
            children += self.crossover_children(parents, o.crossovers, taken)
        while len(children) < o.population:
            arch = self.sample_unseen(o.max_tries * 10, exclude=taken)
            if arch is None:
                break  # space (or its feasible part) exhausted
            children.append(arch)
            taken.add(arch.key)
        return children

    def _open_generation(self) -> None:
        self.generation += 1
        self._members.append([])
        self._queue = self._breed()
        if not self._queue:
            self._finished = True

    def _close_generation(self) -> None:
        # Elitist top-k over every evaluated architecture; failed/NaN results are not rankable.
        self._tops.append([t.trial_id for t in self.ranked()[: self.options.top_k]])
        if self.generation + 1 >= self.options.generations:
            self._finished = True
        else:
            self._open_generation()

    def _generation_complete(self) -> bool:
        return not self._queue and all(self._trials[i].result is not None for i in self._members[-1])

    # ---- protocol -------------------------------------------------------------------------
    def propose(self, n: int) -> list[Architecture]:
        if self.generation < 0:
            self._open_generation()
        out, self._queue = self._queue[:n], self._queue[n:]
        return out

    def on_ask(self, proposals: list[Any]) -> None:
        self._members[-1].extend(p.trial_id for p in proposals)

    def observe(self, trial: Trial) -> None:
        if not self._finished and self._members and trial.trial_id in self._members[-1] and \
                self._generation_complete():
            self._close_generation()

    @property
    def exhausted(self) -> bool:
        return self._finished

    @property
    def history(self) -> list[dict[str, Any]]:
        """Per generation: member trial ids and the top-k after ranking it (for reports)."""
        return [{"generation": g, "members": list(m), "top": list(self._tops[g]) if g < len(self._tops) else []}
                for g, m in enumerate(self._members)]

    # ---- state ----------------------------------------------------------------------------
    def strategy_state(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "queue": [self.space.free_choices(a) for a in self._queue],
            "members": self._members,
            "tops": self._tops,
            "finished": self._finished,
        }

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        self.generation = int(state["generation"])
        self._queue = [self.space.arch(c) for c in state["queue"]]
        self._members = [list(m) for m in state["members"]]
        self._tops = [list(t) for t in state["tops"]]
        self._finished = bool(state["finished"])
