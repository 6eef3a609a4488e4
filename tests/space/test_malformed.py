"""Every malformed space gets one located, rule-naming error (file:line: path: rule)."""

from __future__ import annotations

import pytest

from nasvl.errors import ConfigError
from nasvl.space import parse_space_text

BASE = """\
name: base
branches:
  template: {input: 127}
  search: {input: 255}
backbone:
  stem: {channels: 16, kernel: 3, stride: 2}
  ops: [shuffle3, shuffle5, shuffle7, xception3]
  stages:
    stage1: {channels: 64, depth: 2, stride: 2}
    stage2: {channels: 160, depth: 2, stride: 2}
    stage3: {channels: 320, depth: 2, stride: 1, projection: true}
mixer:
  language_dim: 384
  pre: {fixed: skip}
  post: {ops: [shuffle3, shuffle5]}
"""


def test_base_is_valid() -> None:
    space = parse_space_text(BASE, "base.yaml")
    assert space.size == 4 ** 12 * 2 ** 6


CASES = [
    # (description, old, new, expected message fragment)
    ("unknown top-level key", "name: base\n", "name: base\nbranchs: {}\n",
     "base.yaml:2: branchs: unknown key 'branchs'"),
    ("misspelt op in a stage override", "stage3: {channels: 320, depth: 2, stride: 1, projection: true}",
     "stage3: {channels: 320, depth: 2, stride: 1, projection: true, ops: [shufle5]}",
     "base.yaml:11: backbone.stages.stage3.ops[0]: unknown op 'shufle5' (known: "),
    ("misspelt op in a branch override", "  search: {input: 255}\n",
     "  search:\n    input: 255\n    backbone:\n      stage3: {ops: [shuffle3, shufle5]}\n",
     "base.yaml:7: branches.search.backbone.stage3.ops[1]: unknown op 'shufle5'"),
    ("wrong type for depth", "depth: 2, stride: 2}\n    stage2", "depth: two, stride: 2}\n    stage2",
     "backbone.stages.stage1.depth: expected an integer, got 'two'"),
    ("bool where int expected", "channels: 64,", "channels: true,",
     "backbone.stages.stage1.channels: expected an integer, got True"),
    ("odd channels", "channels: 64,", "channels: 63,",
     "backbone.stages.stage1.channels: channels must be even (channel split), got 63"),
    ("stride 3", "channels: 64, depth: 2, stride: 2", "channels: 64, depth: 2, stride: 3",
     "backbone.stages.stage1.stride: stride must be 1 or 2, got 3"),
    ("stride-1 widening without projection", "stride: 1, projection: true}", "stride: 1}",
     "backbone.stages.stage3: the first layer changes width 160→320 at stride 1; set projection: true"),
    ("projection that does not widen", "stage3: {channels: 320,", "stage3: {channels: 160,",
     "backbone.stages.stage3.projection: a projection layer must widen the feature (160→160 does not)"),
    ("skip where shapes change", "  ops: [shuffle3, shuffle5, shuffle7, xception3]",
     "  ops: [skip, shuffle3]",
     "backbone.ops: op 'skip' cannot be used at template.stage1.0: skip needs stride 1"),
    ("tie to a missing block", "  post: {ops: [shuffle3, shuffle5]}\n",
     "  post: {ops: [shuffle3, shuffle5]}\nties:\n  template.stage1.0: search.stage9.0\n",
     "base.yaml:17: ties.template.stage1.0: tie target 'search.stage9.0' (for template.stage1.0) is not a block"),
    ("tie cycle", "  post: {ops: [shuffle3, shuffle5]}\n",
     "  post: {ops: [shuffle3, shuffle5]}\nties:\n  template.stage1.0: search.stage1.0\n"
     "  search.stage1.0: template.stage1.1\n  template.stage1.1: template.stage1.0\n",
     "tie cycle: "),
    ("tie between different option sets", "  post: {ops: [shuffle3, shuffle5]}\n",
     "  post: {ops: [shuffle3, shuffle5]}\nties:\n  template.stage1.post: search.stage1.0\n",
     "ties.template.stage1.post: template.stage1.post and search.stage1.0 are tied but have different options"),
    ("tie pattern that matches nothing", "  post: {ops: [shuffle3, shuffle5]}\n",
     "  post: {ops: [shuffle3, shuffle5]}\nties:\n  'tmpl.*': 'search.*'\n",
     "ties.tmpl.*: tie pattern 'tmpl.*' matches no choice block"),
    ("tie to a fixed block", "  post: {ops: [shuffle3, shuffle5]}\n",
     "  post: {ops: [shuffle3, shuffle5]}\nties:\n  template.stage1.0: search.stage1.pre\n",
     "tie target 'search.stage1.pre' is a fixed layer, not a choice block"),
    ("mixer at an unknown stage", "  language_dim: 384\n", "  stages: [stage1, stage7]\n  language_dim: 384\n",
     "mixer.stages[1]: unknown stage 'stage7' (known: stage1, stage2, stage3)"),
    ("empty op list", "  post: {ops: [shuffle3, shuffle5]}", "  post: {ops: []}",
     "mixer.post.ops: an op list must not be empty"),
    ("both ops and fixed", "  pre: {fixed: skip}", "  pre: {fixed: skip, ops: [skip]}",
     "mixer.pre: give either 'ops' or 'fixed', not both"),
    ("layer index out of range", "stage1: {channels: 64, depth: 2, stride: 2}",
     "stage1: {channels: 64, depth: 2, stride: 2, layers: {5: {fixed: shuffle3}}}",
     "base.yaml:9: backbone.stages.stage1.layers[5]: layer index 5 must be an integer in 0..1"),
    ("missing required key", "  template: {input: 127}", "  template: {}",
     "branches.template: missing required key 'input'"),
    ("input smaller than the total stride", "  template: {input: 127}", "  template: {input: 4}",
     "branches.template.input: input 4 is smaller than the total stride 8"),
    ("unknown tracker", "  post: {ops: [shuffle3, shuffle5]}\n",
     "  post: {ops: [shuffle3, shuffle5]}\ntracker: {name: vlt_scra}\n",
     "base.yaml:16: tracker.name: unknown tracker 'vlt_scra' (known: "),
    ("duplicate op", "  post: {ops: [shuffle3, shuffle5]}", "  post: {ops: [shuffle3, shuffle3]}",
     "mixer.post.ops: duplicate op in ['shuffle3', 'shuffle3']"),
    ("duplicate key", "  search: {input: 255}\n", "  search: {input: 255}\n  search: {input: 127}\n",
     "base.yaml:5: branches.search: duplicate key 'search'"),
    ("invalid YAML syntax", "  pre: {fixed: skip}", "  pre: {fixed: skip",
     "base.yaml:15: invalid YAML"),
    ("branch name that is not an identifier", "  search: {input: 255}", "  search-x: {input: 255}",
     "branches.search-x: branch name 'search-x' must be an identifier"),
    ("mixer override without a mixer", "mixer:\n  language_dim: 384\n  pre: {fixed: skip}\n"
     "  post: {ops: [shuffle3, shuffle5]}\n", "",
     "base.yaml:3: branches.template: missing"),
    ("unknown constraint", "  post: {ops: [shuffle3, shuffle5]}\n",
     "  post: {ops: [shuffle3, shuffle5]}\nconstraints: {max_flops: 10}\n",
     "constraints.max_flops: unknown key 'max_flops' (allowed: max_latency_ms, max_macs, max_params)"),
    ("branch mixer override at an unmixed stage", "  search: {input: 255}\n",
     "  search:\n    input: 255\n    mixer:\n      stage9: {post: {ops: [shuffle3]}}\n",
     "branches.search.mixer.stage9: no mixer at stage 'stage9'"),
]


@pytest.mark.parametrize("desc,old,new,expected", CASES, ids=[c[0] for c in CASES])
def test_malformed_space(desc: str, old: str, new: str, expected: str) -> None:
    assert old in BASE, f"fixture edit for {desc!r} does not apply"
    text = BASE.replace(old, new, 1)
    if desc == "mixer override without a mixer":
        text = text.replace("  template: {input: 127}\n",
                            "  template:\n    input: 127\n    mixer: {stage1: {post: {fixed: shuffle3}}}\n")
        expected = "branches.template.mixer: this branch overrides mixer blocks but the space has no mixer section"
    with pytest.raises(ConfigError) as info:
        parse_space_text(text, "base.yaml")
    assert expected in str(info.value), str(info.value)
