"""The sample-efficiency benchmark's statistics: the landscape-structure figure and the median's CI.

The benchmark's verdicts ("no strategy beats random on this pool") rest on these two numbers.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_search", ROOT / "benchmarks" / "bench_search.py")
bench_search = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_search)
bench_strategies = bench_search.bench_strategies

@pytest.fixture(scope="module")
def space_text() -> str:
    """The benchmark's own 256-architecture sub-space of the tiny space (4 free blocks of 4 ops)."""
    from nasvl.space import load_space

    return bench_search.space_yaml(bench_search.pool_space(load_space(ROOT / "search_spaces" / "tiny.yaml")))


def _pool(space_text: str, score) -> dict:
    from nasvl.space import parse_space_text

    space = parse_space_text(space_text, "pool.yaml")
    return {"space": space_text, "scores": {a.key: score(space.resolve(a)) for a in space.enumerate()}}


def test_additive_landscape_has_r2_one_and_shuffled_one_little(space_text: str) -> None:
    effects = random.Random(1)
    weight: dict[tuple[str, str], float] = {}

    def additive(ops: dict[str, str]) -> float:
        return sum(weight.setdefault((p, o), effects.random()) for p, o in sorted(ops.items()))

    pool = _pool(space_text, additive)
    assert bench_search.additive_r2(pool) == pytest.approx(1.0, abs=1e-9)
    values = list(pool["scores"].values())
    random.Random(2).shuffle(values)
    shuffled = {**pool, "scores": dict(zip(pool["scores"], values, strict=True))}
    assert bench_search.additive_r2(shuffled) < 0.5


def test_median_ci_brackets_the_median_and_narrows_with_seeds() -> None:
    rng = random.Random(0)
    few = [rng.randint(1, 256) for _ in range(5)]
    many = [rng.randint(1, 256) for _ in range(200)]
    for values in (few, many):
        low, high = bench_strategies.median_ci(values)
        assert low <= sorted(values)[len(values) // 2] <= high
    assert (lambda c: c[1] - c[0])(bench_strategies.median_ci(many)) < \
        (lambda c: c[1] - c[0])(bench_strategies.median_ci(few))


def test_chance_of_random_draws_is_hypergeometric_and_bounds_evolution_with_a_large_population() -> None:
    scores = [float(i) for i in range(256)]
    assert bench_search.chance_random_within(scores, 255.0, 50) == pytest.approx(50 / 256)
    assert bench_search.chance_random_within(scores, 254.0, 1) == pytest.approx(2 / 256)
    assert bench_search.chance_random_within(scores, 0.0, 3) == 1.0
    assert bench_search.chance_random_within(scores, 300.0, 50) == 0.0


def test_another_seed_draws_another_landscape_over_the_same_free_blocks() -> None:
    """`--seed` is the held-out check for settings chosen on seed 0's pool: same 256 architectures'
    free blocks, other fixed blocks around them (and other videos and supernet weights)."""
    from nasvl.space import load_space

    full = load_space(ROOT / "search_spaces" / "tiny.yaml")
    pools = [bench_search.pool_space(full, seed) for seed in (0, 1)]
    assert [sorted(b.path for b in p.free_blocks) for p in pools] == [sorted(bench_search.POOL_BLOCKS)] * 2
    assert pools[0].raw != pools[1].raw
    assert bench_search.pool_space(full, 0).raw == pools[0].raw


def test_a_folder_keeps_the_landscape_it_was_built_with(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    bench_search.claim_landscape(tmp_path / "a", 1)
    bench_search.claim_landscape(tmp_path / "a", 1)  # the same seed reuses it
    with pytest.raises(SystemExit, match="holds the landscape of --seed 1; give --seed 0 another --out"):
        bench_search.claim_landscape(tmp_path / "a", 0)
    (tmp_path / "old" / "synth").mkdir(parents=True)  # built before the stamp: seed 0's
    with pytest.raises(SystemExit, match="--seed 0; give --seed 2"):
        bench_search.claim_landscape(tmp_path / "old", 2)


def test_spos_evolution_with_population_50_proposes_50_uniform_draws_first(space_text: str) -> None:
    """The premise of the bound above: with population >= 50, generation 0 is 50 uniform draws, so a
    given architecture is among SPOS evolution's (defaults) first 50 proposals as often as among 50
    uniform draws from the 256, and it finds a unique best within 50 evaluations that often (~50/256)."""
    import strategies  # noqa: F401  (registers the strategy plugins)
    from nasvl.search.strategy import build_strategy
    from nasvl.space import parse_space_text

    space = parse_space_text(space_text, "pool.yaml")
    best = list(space.enumerate())[37].key
    found = 0
    for seed in range(400):
        first = build_strategy("spos_evolution", space, seed=seed).ask(50)
        assert len({p.arch.key for p in first}) == 50
        found += best in {p.arch.key for p in first}
    assert found / 400 == pytest.approx(50 / 256, abs=0.06)
