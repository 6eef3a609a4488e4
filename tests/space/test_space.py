from __future__ import annotations

import collections
import random
import re

import pytest
from scipy.stats import chisquare

from nasvl.errors import ConfigError
from nasvl.space import from_cand, load_arch, load_space, parse_space_text, to_cand
from tests.conftest import SPACES

PAPER_CAND = [[2, 2, 2, 0, 3, 1, 3, 3, 3, 0, 2, 3, 0, 2, 2, 2, 2, 3, 2, 1],
              [1, 3, 0, 2, 1, 2, 2, 3, 1, 2, 3, 0, 3, 1, 2, 3, 3, 3, 2, 0], [3, 0, 3, 0], [3, 0, 3, 0]]


def without_tracker(name: str):
    text = re.sub(r"^tracker:\n(  .*\n)*", "", (SPACES / name).read_text(), flags=re.M)
    return parse_space_text(text, name)


def test_spos_layout_and_size() -> None:
    space = load_space(SPACES / "spos_shufflenet.yaml")
    assert space.size == 4 ** 20
    assert [s.out_stride for s in space.stages] == [4, 8, 16, 32]
    assert len(space.free_blocks) == 20


def test_paper_space_size_is_exact_python_int() -> None:
    space = without_tracker("vlt_scar.yaml")
    assert space.size == 4 ** 48
    assert len(space.free_blocks) == 48
    assert [s.out_stride for s in space.stages] == [4, 8, 8, 8]


def test_symmetric_space_ties_every_template_block() -> None:
    space = without_tracker("vlt_scar_symmetric.yaml")
    assert space.size == 4 ** 24
    arch = space.sample(random.Random(1))
    for block in space.blocks:
        if block.branch == "template":
            assert block.leader == block.path.replace("template.", "search.", 1)
            assert arch[block.path] == arch[block.leader]


def test_partial_ties_and_chains(tiny_backbone) -> None:
    from tests.conftest import TINY_BACKBONE

    text = TINY_BACKBONE + "ties:\n  template.stage2.*: search.stage2.*\n  search.stage2.1: search.stage2.0\n"
    space = parse_space_text(text, "t.yaml")
    assert space.slot("template.stage2.1").leader == "search.stage2.0"  # chain resolves to the root
    # stage2.* also matches the stage-2 mixer blocks (pre, post: 2 options each)
    assert space.size == tiny_backbone.size // (4 * 4 * 2 * 2 * 4)
    arch = space.sample(random.Random(3))
    assert arch["template.stage2.0"] == arch["template.stage2.1"] == arch["search.stage2.0"]


def test_architecture_is_canonical_hashable_and_roundtrips(tiny_backbone) -> None:
    rng = random.Random(0)
    a = tiny_backbone.sample(rng)
    b = tiny_backbone.arch(dict(reversed(list(a.items()))))
    assert a == b and hash(a) == hash(b) and a.key == b.key
    assert load_arch(tiny_backbone, a.to_yaml()) == a
    assert load_arch(tiny_backbone, a.to_json()) == a
    assert len({tiny_backbone.sample(rng) for _ in range(50)}) > 40


def test_arch_validation_errors(tiny_backbone) -> None:
    a = tiny_backbone.sample(random.Random(0)).to_dict()
    with pytest.raises(ConfigError, match=r"search.stage1.0: op 'skip' is not an option \(known: "):
        tiny_backbone.arch({**a, "search.stage1.0": "skip"})
    with pytest.raises(ConfigError, match="unknown block 'search.stage7.0'"):
        tiny_backbone.arch({**a, "search.stage7.0": "shuffle3"})
    del a["template.stage2.1"]
    with pytest.raises(ConfigError, match="architecture misses block 'template.stage2.1'"):
        tiny_backbone.arch(a)


def test_tied_arch_rejects_conflicting_follower() -> None:
    space = without_tracker("vlt_scar_symmetric.yaml")
    a = space.sample(random.Random(0)).to_dict()
    other = next(op for op in space.slot("search.stage1.0").options if op != a["search.stage1.0"])
    with pytest.raises(ConfigError, match="template.stage1.0: chose .* but is tied to search.stage1.0"):
        space.arch({**a, "template.stage1.0": other})


def test_sampling_is_uniform_per_block_chi_square(tiny_backbone) -> None:
    rng = random.Random(123)
    n = 4000
    counts = {b.path: collections.Counter() for b in tiny_backbone.free_blocks}
    for _ in range(n):
        arch = tiny_backbone.sample(rng)
        for path in counts:
            counts[path][arch[path]] += 1
    for block in tiny_backbone.free_blocks:
        observed = [counts[block.path][op] for op in block.options]
        assert chisquare(observed).pvalue > 1e-3, (block.path, observed)


def test_sampling_is_seeded(tiny_backbone) -> None:
    a = [tiny_backbone.sample(random.Random(7)) for _ in range(2)]
    assert a[0] == a[1]


def test_enumerate_small_space_covers_it_exactly() -> None:
    text = """\
name: micro
branches: {main: {input: 32}}
backbone:
  stem: {channels: 4}
  ops: [shuffle3, shuffle5]
  stages:
    s1: {channels: 8, depth: 2, stride: 2, layers: {0: {fixed: shuffle3}}}
    s2: {channels: 8, depth: 2, stride: 1, ops: [shuffle3, skip, xception3]}
"""
    space = parse_space_text(text, "micro.yaml")
    archs = list(space.enumerate())
    assert space.size == 2 * 3 * 3 == len(archs) == len(set(archs))
    assert space.slot("main.s1.0").fixed and "main.s1.0" not in archs[0]


def test_mutation_and_crossover_touch_every_free_block_including_both_mixers(tiny_backbone) -> None:
    rng = random.Random(0)
    base = tiny_backbone.sample(rng)
    changed: set[str] = set()
    for _ in range(300):
        m = tiny_backbone.mutate(base, rng, prob=0.3)
        changed |= {p for p in m if m[p] != base[p]}
    assert changed == {b.path for b in tiny_backbone.free_blocks}
    assert "search.stage4.post" in changed and "template.stage1.pre" in changed
    other = tiny_backbone.sample(rng)
    child = tiny_backbone.crossover(base, other, rng)
    assert all(child[p] in (base[p], other[p]) for p in child)
    assert tiny_backbone.mutate(base, rng, prob=0.0) == base


def test_cand_roundtrip_on_the_paper_space() -> None:
    space = without_tracker("vlt_scar.yaml")
    arch = from_cand(space, PAPER_CAND)
    assert arch["template.stage1.0"] == "shuffle7" and arch["search.stage1.1"] == "xception3"
    assert arch["template.stage1.post"] == "xception3" and arch["search.stage2.post"] == "shuffle3"
    # Official placement: no pre block; the stage's last layer (CAND index 15 = stage3.7) plays pre.
    assert "search.stage3.pre" not in space.resolve(arch) and arch["search.stage3.7"] == "xception3"
    assert to_cand(space, arch) == PAPER_CAND
    text = re.sub(r"^tracker:\n(  .*\n)*", "", (SPACES / "vlt_scar.yaml").read_text(), flags=re.M)
    after = parse_space_text(text.replace("placement: last_layer", "pre: {fixed: skip}"), "after.yaml")
    assert after.resolve(from_cand(after, PAPER_CAND))["search.stage3.pre"] == "skip"  # today's layout


def test_cand_errors() -> None:
    space = without_tracker("vlt_scar.yaml")
    with pytest.raises(ConfigError, match="CAND template mixers: expected 4 indices"):
        from_cand(space, [PAPER_CAND[0], PAPER_CAND[1], [3, 0], PAPER_CAND[3]])
    with pytest.raises(ConfigError, match="index 7 is not in 0..3"):
        from_cand(space, [[7] * 20, PAPER_CAND[1], PAPER_CAND[2], PAPER_CAND[3]])
    spos = load_space(SPACES / "spos_shufflenet.yaml")
    with pytest.raises(ConfigError, match="no template/search branches with mixers"):
        from_cand(spos, PAPER_CAND)
