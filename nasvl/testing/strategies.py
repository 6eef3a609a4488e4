"""Conformance suite for search strategies (like ``optuna.testing``): import it to test your own.

Every check takes a Strategy class and a scratch directory, runs it on a toy
space with a cheap synthetic objective, and raises AssertionError on a
violation. Use all of them for every registered strategy::

    import pytest
    from nasvl.testing.strategies import CHECKS, strategy_names
    from nasvl.search import STRATEGIES

    @pytest.mark.parametrize("name", strategy_names())
    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_conformance(name, check, tmp_path):
        check(STRATEGIES.get(name), tmp_path)

A strategy's ``conformance_options`` class attribute keeps each run small.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nasvl.errors import ConfigError, NasvlError
from nasvl.search.result import TrialResult
from nasvl.search.strategy import STRATEGIES, Proposal, Strategy, UnknownTrialError
from nasvl.space import Architecture, SearchSpace, parse_space_text

# 5 free blocks of 2-4 ops (288 architectures); both branches, a mixer post block each and a tie.
TOY_SPACE = """\
name: toy
branches:
  template: {input: 32}
  search: {input: 64}
backbone:
  stem: {channels: 8, kernel: 3, stride: 2}
  stages:
    stage1: {channels: 16, depth: 1, stride: 2, ops: [shuffle3, shuffle5, shuffle7, xception3]}
    stage2: {channels: 16, depth: 1, stride: 1, ops: [shuffle3, xception3]}
mixer:
  stages: [stage2]
  language_dim: 8
  pre: {fixed: skip}
  post: {ops: [shuffle3, shuffle5, xception3]}
ties:
  search.stage2.0: template.stage2.0
"""

Objective = Callable[[Architecture], TrialResult]


def toy_space() -> SearchSpace:
    return parse_space_text(TOY_SPACE, "toy.yaml")


def strategy_names() -> list[str]:
    return STRATEGIES.names()


class MatchObjective:
    """SUC = weighted fraction of free blocks matching a hidden optimum (deterministic, in [0, 1]).

    Later blocks weigh a little more so scores rarely tie. Latency/MACs grow with the option
    index, which makes "SUC vs cost" a real trade-off for multi-objective strategies.
    """

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        rng = random.Random(f"objective-{seed}")
        self.blocks = space.free_blocks
        self.optimum = {b.path: rng.choice(b.options) for b in self.blocks}
        self.weights = [1.0 + 0.1 * i for i in range(len(self.blocks))]

    def __call__(self, arch: Architecture) -> TrialResult:
        total = sum(self.weights)
        suc = sum(w for w, b in zip(self.weights, self.blocks, strict=True) if arch[b.path] == self.optimum[b.path])
        cost = sum(b.options.index(arch[b.path]) for b in self.blocks)
        return TrialResult(suc=suc / total, params=1000 + 100 * cost, macs=10_000 + 1000 * cost,
                           latency_ms=1.0 + cost, wall_s=0.0)


class Driver:
    """A deterministic ask/tell loop: up to `batch` trials in flight, told in a seeded random order."""

    def __init__(self, strategy: Strategy, objective: Objective, *, batch: int = 3, seed: int = 0,
                 corrupt: Callable[[int, TrialResult], TrialResult] | None = None) -> None:
        self.strategy, self.objective, self.batch = strategy, objective, batch
        self.rng = random.Random(seed)
        self.corrupt = corrupt
        self.in_flight: list[Proposal] = []
        self.log: list[tuple[str, str]] = []  # (trial id, arch key) of every proposal, in order
        self.told = 0

    def step(self) -> bool:
        """One ask + one tell; False once the strategy is done."""
        s = self.strategy
        if s.done:
            return False
        props = s.ask(self.batch - len(self.in_flight))
        self.log += [(p.trial_id, p.arch.key) for p in props]
        self.in_flight += props
        assert self.in_flight, (f"{s.name}: not done, nothing in flight, and ask() proposed nothing: "
                                "the search stalled")
        p = self.in_flight.pop(self.rng.randrange(len(self.in_flight)))  # out-of-order completion
        result = self.objective(p.arch)
        if self.corrupt is not None:
            result = self.corrupt(self.told, result)
        s.tell(p.trial_id, result)
        self.told += 1
        return True

    def run(self, max_steps: int = 5000) -> Driver:
        for _ in range(max_steps):
            if not self.step():
                return self
        raise AssertionError(f"{self.strategy.name}: not done after {max_steps} tells")

    def snapshot(self) -> dict[str, Any]:
        version, internal, gauss = self.rng.getstate()
        return {"in_flight": [(p.trial_id, p.arch.key) for p in self.in_flight], "told": self.told,
                "rng": [version, list(internal), gauss], "log": list(self.log)}


def make(cls: type[Strategy], space: SearchSpace, run_dir: Path, seed: int = 0, **options: Any) -> Strategy:
    return cls(space, seed, run_dir=run_dir, **{**cls.conformance_options, **options})


def roundtrip(state: dict[str, Any]) -> dict[str, Any]:
    """The state must be strict JSON: no pickle, no NaN/Infinity tokens."""
    return json.loads(json.dumps(state, allow_nan=False))


# ---- checks ---------------------------------------------------------------------------------
def check_options_are_strict(cls: type[Strategy], tmp_path: Path) -> None:
    try:
        make(cls, toy_space(), tmp_path / "strict", no_such_option=1)
    except ConfigError as exc:
        assert "no_such_option" in str(exc), f"{cls.name}: the error should name the unknown key: {exc}"
    else:
        raise AssertionError(f"{cls.name}: an unknown option was accepted")


def check_loop(cls: type[Strategy], tmp_path: Path) -> None:
    """Terminates; proposals are valid, new architectures; ask() after done proposes nothing."""
    space = toy_space()
    s = make(cls, space, tmp_path / "loop")
    d = Driver(s, MatchObjective(space)).run()
    assert d.log, f"{cls.name}: proposed nothing"
    keys = [k for _, k in d.log]
    assert len(set(keys)) == len(keys), f"{cls.name}: proposed an architecture twice for evaluation"
    ids = [i for i, _ in d.log]
    assert len(set(ids)) == len(ids), f"{cls.name}: reused a trial id"
    for t in s.trials:
        assert space.arch(dict(t.arch)) == t.arch, f"{cls.name}: proposal {t.arch.key} is not a valid arch"
        assert t.result is not None, f"{cls.name}: done with trial {t.trial_id} untold"
    assert s.ask(4) == [], f"{cls.name}: proposed after done"
    assert not s.pending
    best = s.best(3)
    assert best and all(r.ok for _, r in best)
    assert [r.suc for _, r in best] == sorted((r.suc for _, r in best), reverse=True)


def check_resume(cls: type[Strategy], tmp_path: Path) -> None:
    """state_dict -> JSON -> fresh instance -> load_state_dict continues exactly like no interruption."""
    space = toy_space()
    objective = MatchObjective(space)
    full = Driver(make(cls, space, tmp_path / "full"), objective).run()
    for cut in (1, 7, 16):
        if cut >= full.told:
            continue
        run_dir = tmp_path / f"cut{cut}"
        first = Driver(make(cls, space, run_dir), objective)
        for _ in range(cut):
            first.step()
        state = roundtrip(first.strategy.state_dict())
        snap = first.snapshot()
        first.strategy.close()
        restored = make(cls, space, run_dir)
        restored.load_state_dict(state)
        d = Driver(restored, objective)
        d.rng.setstate((snap["rng"][0], tuple(snap["rng"][1]), snap["rng"][2]))
        d.told, d.log = snap["told"], [tuple(x) for x in snap["log"]]
        d.in_flight = [Proposal(i, restored.trial(i).arch) for i, _ in snap["in_flight"]]
        d.run()
        assert d.log == full.log, f"{cls.name}: resumed after {cut} tells, the proposals diverged"
        assert [r.suc for _, r in restored.best(5)] == [r.suc for _, r in full.strategy.best(5)]


def _corrupt(i: int, result: TrialResult) -> TrialResult:
    if i % 3 == 1:
        return TrialResult(suc=math.nan, latency_ms=result.latency_ms)
    if i % 4 == 2:  # a failure claiming a perfect score must still never rank
        return TrialResult(suc=1.0, latency_ms=0.0, error="RuntimeError: CUDA out of memory")
    return result


def check_bad_results(cls: type[Strategy], tmp_path: Path) -> None:
    """NaN and failed results are tolerated and never reported as best or on the Pareto front."""
    space = toy_space()
    s = make(cls, space, tmp_path / "bad")
    d = Driver(s, MatchObjective(space), corrupt=_corrupt).run()
    assert d.told >= 3
    assert all(r.ok for _, r in s.best(len(s.trials)))
    assert all(r.ok for _, r in s.pareto(("suc", "latency_ms")))
    json.dumps(s.state_dict(), allow_nan=False)


def check_all_failed(cls: type[Strategy], tmp_path: Path) -> None:
    """Every evaluation failing (a broken evaluator) still terminates, with no best."""
    space = toy_space()
    s = make(cls, space, tmp_path / "allfail")
    Driver(s, MatchObjective(space), corrupt=lambda i, r: TrialResult.failed("boom")).run()
    assert s.best(3) == [] and s.pareto(("suc", "macs")) == []


def check_tell_errors_and_duplicates(cls: type[Strategy], tmp_path: Path) -> None:
    space = toy_space()
    objective = MatchObjective(space)
    s = make(cls, space, tmp_path / "tell")
    try:
        s.tell("no-such-trial", TrialResult(suc=0.5))
    except UnknownTrialError as exc:
        assert "no-such-trial" in str(exc)
    else:
        raise AssertionError(f"{cls.name}: tell() with an unknown trial id did not raise UnknownTrialError")
    try:
        s.ask(-1)
    except NasvlError:
        pass
    else:
        raise AssertionError(f"{cls.name}: ask(-1) did not raise")
    assert s.ask(0) == []
    props = s.ask(2)
    assert props, f"{cls.name}: proposed nothing at the start"
    p = props[0]
    s.tell(p.trial_id, TrialResult.failed("worker died"))
    s.tell(p.trial_id, TrialResult.failed("worker died"))  # duplicate report: ignored
    s.tell(p.trial_id, objective(p.arch))  # a retry succeeded: replaces the failure
    s.tell(p.trial_id, TrialResult(suc=-1.0))  # late duplicate: the first usable result stays
    assert s.trial(p.trial_id).result == objective(p.arch)
    assert p.trial_id not in s.pending


CHECKS: list[Callable[[type[Strategy], Path], None]] = [
    check_options_are_strict, check_loop, check_resume, check_bad_results, check_all_failed,
    check_tell_errors_and_duplicates,
]


def run_conformance(cls: type[Strategy], tmp_path: Path) -> None:
    """Run every check on one strategy class (for scripts; pytest users parametrize over CHECKS)."""
    for i, check in enumerate(CHECKS):
        sub = tmp_path / f"{i}-{check.__name__}"
        sub.mkdir(parents=True, exist_ok=True)
        check(cls, sub)
