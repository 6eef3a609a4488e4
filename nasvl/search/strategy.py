"""`Strategy`: the one base class of every search strategy, and its registry.

Protocol (Optuna ask-and-tell, Ray Tune `Searcher` tolerance):

* ``ask(n) -> list[Proposal]`` hands out at most `n` new candidates, each with a
  trial id the strategy assigns. Fewer than `n` (or none) means "wait": the
  current generation is still being evaluated. A proposal is always a valid,
  constraint-satisfying architecture of the space that was never proposed
  before (a global seen-set; a strategy that re-derives a known architecture
  reuses its recorded result instead of proposing it again).
* ``tell(trial_id, result)`` may come in any order, any time later, with failed
  or NaN results; a second tell for the same id is ignored unless it replaces a
  failure by a success (a retried trial). An id that was never proposed raises
  `UnknownTrialError`.
* ``done`` is True once the strategy will propose nothing more *and* every
  proposal has been told, so ``best()`` / ``pareto()`` are final then.
* ``state_dict()`` is plain JSON (no pickle, no NaN tokens); ``load_state_dict``
  on a fresh instance with the same space continues exactly as the original.

Writing a strategy (one file): subclass, give it a frozen ``Options`` dataclass,
implement ``propose(n)`` (unseen, feasible architectures; use ``sample_unseen``
and ``admissible``) and ``exhausted``; override the no-op hooks you need
(``observe``, ``strategy_state``/``load_strategy_state``, ``close``); register
with ``@register_strategy("name")`` or the ``nasvl.strategies`` entry point.
The base class keeps the trial records, dedup, ranking and serialisation.
"""

from __future__ import annotations

import dataclasses
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from nasvl.config import YamlDoc, parse_dataclass
from nasvl.errors import ConfigError, NasvlError
from nasvl.registry import Registry
from nasvl.search.result import (
    DEFAULT_OBJECTIVES,
    TrialResult,
    objectives_problem,
    pareto_front,
    pareto_objectives,
    smaller_is_better,
)
from nasvl.space import Architecture, SearchSpace

STATE_VERSION = 1
_ENUMERATE_LIMIT = 20_000  # spaces this small are listed exhaustively once random draws stall


class UnknownTrialError(NasvlError, LookupError):
    """`tell` got a trial id this strategy never proposed."""


@dataclass(frozen=True)
class Proposal:
    trial_id: str
    arch: Architecture


@dataclass
class Trial:
    """One proposal and, once told, its result (``None`` while pending)."""

    trial_id: str
    arch: Architecture
    result: TrialResult | None = None


@dataclass(frozen=True)
class NoOptions:
    pass


S = TypeVar("S", bound="type[Strategy]")
STRATEGIES: Registry[type[Strategy]] = Registry("strategy", "nasvl.strategies")


def register_strategy(name: str) -> Callable[[S], S]:
    """Class decorator: register a Strategy subclass under `name` (also sets ``cls.name``)."""

    def decorator(cls: S) -> S:
        cls.name = name
        return STRATEGIES.register(name)(cls)

    return decorator


def build_strategy(name: str, space: SearchSpace, seed: int = 0, *, run_dir: str | Path | None = None,
                   objectives: Sequence[str] = DEFAULT_OBJECTIVES, **options: Any) -> Strategy:
    return STRATEGIES.get(name)(space, seed, run_dir=run_dir, objectives=objectives, **options)


def parse_options(cls: type[Any], options: Mapping[str, Any], what: str) -> Any:
    """Strict `Options` parsing (unknown keys, wrong types are located ConfigErrors)."""
    # parse_dataclass reads YAML-shaped values: tuples arrive as lists.
    data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}
    return parse_dataclass(cls, YamlDoc(data, what).root)


class Strategy(ABC):
    Options: ClassVar[type] = NoOptions
    name: ClassVar[str] = ""
    # Small options that make a full run take well under a second on the conformance
    # suite's toy space (nasvl.testing.strategies); user strategies should set theirs.
    conformance_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, space: SearchSpace, seed: int = 0, *, run_dir: str | Path | None = None,
                 objectives: Sequence[str] = DEFAULT_OBJECTIVES, **options: Any) -> None:
        problem = objectives_problem(objectives)
        if problem:
            raise ConfigError(f"strategy {self.name or type(self).__name__}: {problem[1]}")
        self.objectives = tuple(objectives)  # the first is the score every strategy ranks on
        self.space = space
        self.seed = int(seed)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.options = parse_options(self.Options, options, f"strategy {self.name or type(self).__name__}")
        self.rng = random.Random(self.seed)
        self._trials: dict[str, Trial] = {}
        self._by_key: dict[str, str] = {}  # arch.key -> trial id (the global seen-set)
        self._pending: dict[str, None] = {}  # insertion-ordered set of pending ids
        self._next_id = 0
        self._cost: Any = None

    # ---- to implement ---------------------------------------------------------------------
    @abstractmethod
    def propose(self, n: int) -> list[Architecture]:
        """Up to `n` unseen, feasible architectures; fewer means 'wait' (or exhausted)."""

    @property
    @abstractmethod
    def exhausted(self) -> bool:
        """True once `propose` will never return anything again."""

    # ---- optional no-op hooks -------------------------------------------------------------
    def observe(self, trial: Trial) -> None:  # noqa: B027 (optional no-op hook)
        """Called after `trial.result` was recorded (first tell, or a success replacing a failure)."""

    def on_ask(self, proposals: list[Proposal]) -> None:  # noqa: B027 (optional no-op hook)
        """Called after proposals got their ids (e.g. to map ids to an external trial store)."""

    def strategy_state(self) -> dict[str, Any]:
        """Subclass state (JSON); the base already saves trials, ids and `self.rng`."""
        return {}

    def load_strategy_state(self, state: dict[str, Any]) -> None:  # noqa: B027 (optional no-op hook)
        """Inverse of `strategy_state`, called after the base state is restored."""

    def close(self) -> None:  # noqa: B027 (optional no-op hook)
        """Release external resources (storage connections)."""

    # ---- the protocol ---------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[Proposal]:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise NasvlError(f"ask(n) needs an integer n >= 0, got {n!r}")
        if n == 0 or self.exhausted:
            return []
        archs = self.propose(n)
        if len(archs) > n:
            raise NasvlError(f"strategy {self.name!r} proposed {len(archs)} architectures for ask({n})")
        proposals = []
        for arch in archs:
            if arch.key in self._by_key:
                raise NasvlError(f"strategy {self.name!r} proposed {arch.key} twice; propose() must only "
                                 "return unseen architectures (use admissible()/sample_unseen())")
            trial_id = self._new_trial(arch)
            proposals.append(Proposal(trial_id, arch))
        self.on_ask(proposals)
        return proposals

    def _new_trial(self, arch: Architecture) -> str:
        trial_id = f"{self._next_id:06d}"
        self._next_id += 1
        self._trials[trial_id] = Trial(trial_id, arch)
        self._by_key[arch.key] = trial_id
        self._pending[trial_id] = None
        return trial_id

    def tell(self, trial_id: str, result: TrialResult) -> None:
        trial = self._trials.get(trial_id)
        if trial is None:
            raise UnknownTrialError(f"strategy {self.name!r}: unknown trial id {trial_id!r} "
                                    f"({len(self._trials)} trials proposed, ids 000000..{self._next_id - 1:06d})")
        if not isinstance(result, TrialResult):
            raise NasvlError(f"tell({trial_id!r}, ...) needs a TrialResult, got {type(result).__name__}")
        if trial.result is not None and (trial.result.ok or not result.ok):
            return  # duplicate report: the first usable result wins
        trial.result = result
        self._pending.pop(trial_id, None)
        self.observe(trial)

    @property
    def done(self) -> bool:
        return self.exhausted and not self._pending

    # ---- records --------------------------------------------------------------------------
    @property
    def trials(self) -> list[Trial]:
        return list(self._trials.values())

    @property
    def pending(self) -> list[str]:
        return list(self._pending)

    def trial(self, trial_id: str) -> Trial:
        if trial_id not in self._trials:
            raise UnknownTrialError(f"unknown trial id {trial_id!r}")
        return self._trials[trial_id]

    def seen(self, arch: Architecture) -> bool:
        return arch.key in self._by_key

    def known_result(self, arch: Architecture) -> TrialResult | None:
        """The recorded result of an already-proposed architecture (None: unseen or pending)."""
        trial_id = self._by_key.get(arch.key)
        return None if trial_id is None else self._trials[trial_id].result

    # ---- constraints and sampling helpers -------------------------------------------------
    def feasible(self, arch: Architecture, latency_ms: float | None = None) -> bool:
        if not self.space.constraints.any:
            return True
        if self._cost is None:
            from nasvl.cost import CostModel  # imported lazily: only spaces with constraints need it

            self._cost = CostModel.for_space(self.space)
        return bool(self._cost.satisfies(arch, latency_ms=latency_ms))

    def admissible(self, arch: Architecture) -> bool:
        """May be proposed: unseen and within the space's static constraints (params, MACs)."""
        return not self.seen(arch) and self.feasible(arch)

    def sample_unseen(self, tries: int, exclude: set[str] | None = None) -> Architecture | None:
        """A uniform random admissible architecture, or None when `tries` draws found only seen ones.

        Raises NasvlError when every draw broke the constraints and no feasible architecture was
        ever proposed: the constraints then almost certainly leave nothing to search.
        """
        if len(self._by_key) + len(exclude or ()) >= self.space.size:
            return None
        infeasible = 0
        for _ in range(max(1, tries)):
            arch = self.space.sample(self.rng)
            if self.seen(arch) or (exclude and arch.key in exclude):
                continue
            if self.feasible(arch):
                return arch
            infeasible += 1
        if infeasible == max(1, tries) and not self._trials:
            raise NasvlError(f"space {self.space.name!r}: {infeasible} random architectures all break the "
                             f"constraints {self.space.constraints}; loosen them")
        if self.space.size <= _ENUMERATE_LIMIT:
            # Small space nearly used up: random draws miss the last few, so list them instead.
            rest = [a for a in self.space.enumerate(_ENUMERATE_LIMIT)
                    if self.admissible(a) and not (exclude and a.key in exclude)]
            return self.rng.choice(rest) if rest else None
        return None

    # ---- ranking --------------------------------------------------------------------------
    def rankable(self, trial: Trial) -> bool:
        """A told, ok result that also meets a latency constraint (only known after evaluation)."""
        r = trial.result
        return r is not None and r.ok and (r.latency_ms is None or self.feasible(trial.arch, r.latency_ms))

    def ranked(self, trials: Sequence[Trial] | None = None) -> list[Trial]:
        """Rankable trials, best SUC first; ties keep proposal order (stable, deterministic)."""
        pool = self._trials.values() if trials is None else trials
        return sorted((t for t in pool if self.rankable(t)), key=lambda t: -t.result.suc)  # type: ignore[union-attr]

    def best(self, k: int = 1) -> list[tuple[Architecture, TrialResult]]:
        """The top-`k` rankable results; failed/NaN results are never returned."""
        return [(t.arch, t.result) for t in self.ranked()[:k]]  # type: ignore[misc]

    def pareto(self, objectives: Sequence[str] | None = None) -> list[tuple[Architecture, TrialResult]]:
        """Non-dominated rankable results over `objectives` (default: the search's, see
        `pareto_objectives`); SUC/P/PNorm maximised, costs minimised."""
        over = pareto_objectives(self.objectives) if objectives is None else objectives
        front = pareto_front(self.ranked(), lambda t: smaller_is_better(t.result, over))  # type: ignore[arg-type]
        return [(t.arch, t.result) for t in front]  # type: ignore[misc]

    # ---- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        version, internal, gauss = self.rng.getstate()
        return {
            "version": STATE_VERSION,
            "strategy": self.name,
            "space": self.space.hash,
            "seed": self.seed,
            "options": dataclasses.asdict(self.options),
            "next_id": self._next_id,
            "rng": [version, list(internal), gauss],
            "trials": [
                {"id": t.trial_id, "arch": self.space.free_choices(t.arch),
                 "result": None if t.result is None else t.result.to_dict()}
                for t in self._trials.values()
            ],
            "pending": list(self._pending),
            "state": self.strategy_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise NasvlError(f"strategy state version {state.get('version')!r} is not {STATE_VERSION}")
        if state.get("strategy") != self.name:
            raise NasvlError(f"state was saved by strategy {state.get('strategy')!r}, not {self.name!r}")
        if state.get("space") != self.space.hash:
            raise NasvlError(f"state belongs to another search space (hash {state.get('space')}, "
                             f"this space {self.space.name!r} has {self.space.hash})")
        self.seed = int(state["seed"])
        version, internal, gauss = state["rng"]
        self.rng.setstate((version, tuple(internal), gauss))
        self._next_id = int(state["next_id"])
        self._trials, self._by_key = {}, {}
        for rec in state["trials"]:
            arch = self.space.arch(rec["arch"])
            result = None if rec["result"] is None else TrialResult.from_dict(rec["result"])
            self._trials[rec["id"]] = Trial(rec["id"], arch, result)
            self._by_key[arch.key] = rec["id"]
        self._pending = dict.fromkeys(state["pending"])
        self.load_strategy_state(state["state"])
