"""Strategy-specific behaviour of spos_evolution and random (the shared protocol is in test_conformance)."""

from __future__ import annotations

import json
import math
import random

import pytest

from nasvl.cost import CostModel
from nasvl.errors import ConfigError, NasvlError
from nasvl.search import STRATEGIES, TrialResult, build_strategy
from nasvl.space import parse_space_text
from nasvl.testing.strategies import Driver, MatchObjective, toy_space
from tests.conftest import TINY_BACKBONE

SMALL = {"population": 8, "top_k": 3, "mutations": 4, "crossovers": 3, "generations": 3}


def test_evolution_defaults_are_spos() -> None:
    o = STRATEGIES.get("spos_evolution").Options()
    assert (o.population, o.top_k, o.mutations, o.mutation_prob, o.crossovers, o.generations) == \
        (50, 10, 25, 0.1, 25, 20)


def test_mutation_and_crossover_cover_every_free_block(tiny_backbone) -> None:
    s = build_strategy("spos_evolution", tiny_backbone, seed=1)
    paths = {b.path for b in tiny_backbone.free_blocks}
    # Both branches' pre and post mixers are free blocks (the official code never mutated search mixers).
    assert {"search.stage1.pre", "search.stage4.post", "template.stage2.post"} <= paths
    parent = tiny_backbone.sample(random.Random(0))
    changed = set()
    for child in s.mutate_children([parent], 200, set()):
        changed |= {p for p in paths if child[p] != parent[p]}
    assert changed == paths
    other = tiny_backbone.arch({b.path: next(o for o in b.options if o != parent[b.path])
                                for b in tiny_backbone.free_blocks})
    from_other = set()
    for child in s.crossover_children([parent, other], 50, set()):
        from_other |= {p for p in paths if child[p] == other[p]}
    assert from_other == paths


def test_evolution_waits_for_each_generation() -> None:
    space = toy_space()
    s = build_strategy("spos_evolution", space, **SMALL)
    first = s.ask(100)
    assert len(first) == 8 and s.ask(5) == []  # generation 0 is out: wait
    obj = MatchObjective(space)
    for p in reversed(first[1:]):
        s.tell(p.trial_id, obj(p.arch))
    assert s.ask(5) == []  # one result still missing
    s.tell(first[0].trial_id, obj(first[0].arch))
    assert len(s.ask(100)) > 0 and s.generation == 1


def test_final_generation_is_ranked() -> None:
    space = toy_space()
    s = build_strategy("spos_evolution", space, **SMALL)
    counter = iter(range(10**6))  # later evaluations score higher: the last generation must win
    Driver(s, lambda arch: TrialResult(suc=next(counter) / 1000)).run()
    last = s.history[-1]
    assert len(s.history) == 3 and last["top"]
    assert set(last["top"]) <= set(last["members"])
    assert s.best(1)[0][0] == s.trial(last["top"][0]).arch


def test_failed_results_never_enter_top_k() -> None:
    space = toy_space()
    s = build_strategy("spos_evolution", space, **SMALL)
    obj = MatchObjective(space)

    def corrupt(i: int, r: TrialResult) -> TrialResult:
        return TrialResult(suc=1.0, error="boom") if i % 2 else (TrialResult(suc=math.nan) if i % 5 == 0 else r)

    Driver(s, obj, corrupt=corrupt).run()
    for gen in s.history:
        assert all(s.trial(i).result.ok for i in gen["top"])


def test_options_are_validated() -> None:
    with pytest.raises(ConfigError, match="mutation_prob"):
        build_strategy("spos_evolution", toy_space(), mutation_prob=1.5)
    with pytest.raises(ConfigError, match="expected an integer"):
        build_strategy("random", toy_space(), budget="many")
    with pytest.raises(ConfigError, match="unknown strategy 'evolve'.*spos_evolution"):
        build_strategy("evolve", toy_space())


def _constrained(max_params: int) -> str:
    return TINY_BACKBONE + f"constraints: {{max_params: {max_params}}}\n"


@pytest.mark.parametrize("name", ["spos_evolution", "random", "optuna"])
def test_constraints_reject_before_evaluation(name) -> None:
    free = parse_space_text(TINY_BACKBONE, "tiny.yaml")
    cost = CostModel.for_space(free)
    rng = random.Random(0)
    limit = sorted(cost.params(free.sample(rng)) for _ in range(200))[100]  # about half are legal
    space = parse_space_text(_constrained(limit), "tiny_c.yaml")
    options = {"spos_evolution": SMALL, "random": {"budget": 20},
               "optuna": {"budget": 15, "storage": "memory", "n_startup_trials": 5}}[name]
    s = build_strategy(name, space, **options)
    Driver(s, MatchObjective(space)).run()
    assert s.trials and all(cost.params(t.arch) <= limit for t in s.trials)


def test_impossible_constraints_raise_a_clear_error() -> None:
    space = parse_space_text(_constrained(1), "tiny_c.yaml")
    for name in ("random", "spos_evolution"):
        with pytest.raises(NasvlError, match="break the constraints"):
            build_strategy(name, space).ask(1)


def test_random_budget_and_exhaustion() -> None:
    space = toy_space()
    s = build_strategy("random", space, budget=10)
    d = Driver(s, MatchObjective(space), batch=4).run()
    assert d.told == 10
    s = build_strategy("random", space, budget=10_000)
    d = Driver(s, MatchObjective(space), batch=8).run()
    assert d.told == space.size == len({k for _, k in d.log})  # every architecture once, then done


def test_state_refuses_another_space_or_strategy(tiny_backbone) -> None:
    s = build_strategy("random", toy_space(), budget=5)
    s.ask(2)
    state = json.loads(json.dumps(s.state_dict()))
    with pytest.raises(NasvlError, match="another search space"):
        build_strategy("random", tiny_backbone).load_state_dict(state)
    with pytest.raises(NasvlError, match="saved by strategy 'random'"):
        build_strategy("spos_evolution", toy_space()).load_state_dict(state)


def test_trial_result_json() -> None:
    r = TrialResult(suc=math.nan, params=3, latency_ms=math.inf)
    assert not r.ok and not TrialResult(suc=0.5, error="x").ok and TrialResult(suc=0.5).ok
    back = TrialResult.from_json(r.to_json())
    assert math.isnan(back.suc) and back.latency_ms is None and back.params == 3
    with pytest.raises(NasvlError, match="unknown TrialResult keys"):
        TrialResult.from_dict({"suc": 1.0, "auc": 2})


def test_user_strategy_registers_by_decorator() -> None:
    from nasvl.search import Strategy, register_strategy
    from nasvl.testing.strategies import CHECKS

    @register_strategy("_test_first_k")
    class FirstK(Strategy):
        def propose(self, n):
            out = []
            for arch in self.space.enumerate():
                if len(out) == n or len(self.trials) + len(out) >= 6:
                    break
                if self.admissible(arch):
                    out.append(arch)
            return out

        @property
        def exhausted(self):
            return len(self.trials) >= 6

    try:
        assert STRATEGIES.get("_test_first_k") is FirstK and FirstK.name == "_test_first_k"
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            for check in CHECKS:
                check(FirstK, Path(tmp))
    finally:
        STRATEGIES._items.pop("_test_first_k", None)
