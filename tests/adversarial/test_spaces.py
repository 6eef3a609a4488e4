"""Malformed and hostile search spaces, architecture files and CAND strings, through the real CLI.

Each case is something a NAS or tracking user really writes (a typo, a tab, a string for a number,
a copy-pasted CAND of the wrong length) or something a hostile file holds (an alias bomb, a depth
of 10^8, a 5000-digit integer, a python tag). Every one must be refused by `space validate`,
`space show` or `arch cost` with one message naming the file, the YAML path or line, and the rule,
without a traceback, a hang, a memory blow-up or a write anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.adversarial.harness import assert_contained, assert_refused, run_nasvl, snapshot
from tests.space.test_space import PAPER_CAND

ROOT = Path(__file__).resolve().parents[2]
VLT_SCAR = ROOT / "search_spaces" / "vlt_scar.yaml"

BASE = """\
name: tiny
description: hostile-input base space
branches:
  template: {input: 63}
  search: {input: 127}
share_weights: true
backbone:
  stem: {channels: 8, kernel: 3, stride: 2}
  ops: [shuffle3, shuffle5, shuffle7, xception3]
  stages:
    stage1: {channels: 16, depth: 1, stride: 2}
    stage2: {channels: 24, depth: 2, stride: 2}
    stage3: {channels: 32, depth: 1, stride: 1, projection: true}
    stage4: {channels: 48, depth: 1, stride: 1, projection: true}
mixer:
  language_dim: 384
  pre: {ops: [skip, shuffle3]}
  post: {ops: [shuffle3, xception3]}
tracker:
  name: vlt_scar
  options: {size: tiny}
"""

BACKBONE_ONLY = """\
name: plain
branches:
  backbone: {input: 224}
backbone:
  stem: {channels: 16, kernel: 3, stride: 2}
  ops: [shuffle3, shuffle5]
  stages:
    stage1: {channels: 64, depth: 4, stride: 2}
"""


def sub(old: str, new: str, base: str = BASE) -> str:
    assert old in base, old
    return base.replace(old, new, 1)


def bomb(levels: int = 9, fan: int = 10) -> str:
    """Billion laughs: each level lists the previous anchor `fan` times."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]")
    return "\n".join(lines)


def indent(text: str, n: int = 2) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


@dataclass
class Case:
    id: str
    content: str | bytes | Callable[[Path], Path] | None  # None: the file is not created
    mentions: list[str]
    command: str = "validate"          # validate | show | cost
    cost_args: tuple[str, ...] = ()    # extra arguments for `arch cost` ({f} = the case file)
    file: str = "s.yaml"


def limit(name: str) -> str:
    return f"NASVL_LIMIT_{name.upper()}"


def many_branches(n: int) -> str:
    rows = "\n".join(f"  b{i}: {{input: 224}}" for i in range(n))
    return sub("  backbone: {input: 224}", rows, BACKBONE_ONLY)


def many_stages(n: int) -> str:
    rows = "\n".join(f"    s{i}: {{channels: 64, depth: 1, stride: 1}}" for i in range(1, n))
    return BACKBONE_ONLY + rows + "\n"


def many_ties(n: int) -> str:
    return BASE + "ties:\n" + "\n".join(f"  'x{i}.*': 'search.*'" for i in range(n)) + "\n"


def deep_mapping(levels: int) -> str:
    return "description:\n" + "\n".join("  " * (i + 1) + f"k{i}:" for i in range(levels)) + " 1\n"


def directory(tmp: Path) -> Path:
    (tmp / "s.yaml").mkdir()
    return tmp / "s.yaml"


SPACE_CASES = [
    # ---- typos, wrong types and wrong nesting ---------------------------------------------------
    Case("typo-top-key", sub("share_weights:", "share_weight:"), ["s.yaml:6", "share_weight", "unknown key"]),
    Case("typo-op", sub("shuffle7, xception3]", "shufle7, xception3]"),
         ["s.yaml:9", "backbone.ops[2]", "unknown op 'shufle7'"]),
    Case("tab-indent", sub("  search: {input: 127}", "\tsearch: {input: 127}"), ["s.yaml:5", "invalid YAML"]),
    Case("depth-word", sub("depth: 2,", "depth: two,"),
         ["s.yaml:12", "backbone.stages.stage2.depth", "expected an integer, got 'two'"]),
    Case("depth-quoted-number", sub("depth: 2,", "depth: '2',"),
         ["backbone.stages.stage2.depth", "expected an integer, got '2'"]),
    Case("depth-negative", sub("depth: 2,", "depth: -3,"), ["backbone.stages.stage2.depth", "must be >= 1"]),
    Case("channels-zero", sub("channels: 24,", "channels: 0,"), ["backbone.stages.stage2.channels", "must be >= 2"]),
    Case("channels-odd", sub("channels: 24,", "channels: 25,"), ["backbone.stages.stage2.channels", "even"]),
    Case("input-negative", sub("{input: 127}", "{input: -127}"), ["branches.search.input", "must be >= 1"]),
    Case("projection-string", sub("stride: 1, projection: true}", "stride: 1, projection: 'true'}"),
         ["backbone.stages.stage3.projection", "expected true or false"]),
    Case("stages-as-list", sub("    stage1: {channels: 16", "    - stage1: {channels: 16").replace(
        "    stage2", "    - stage2").replace("    stage3", "    - stage3").replace("    stage4", "    - stage4"),
         ["backbone.stages", "expected a mapping, got list"]),
    Case("branch-missing-input", sub("{input: 127}", "{inputs: 127}"), ["branches.search.inputs", "unknown key"]),
    Case("layer-index-out-of-range", sub("stage2: {channels: 24, depth: 2, stride: 2}",
                                         "stage2: {channels: 24, depth: 2, stride: 2, layers: {7: {fixed: skip}}}"),
         ["s.yaml:12", "backbone.stages.stage2.layers[7]", "layer index 7"]),
    Case("mixer-stage-twice", sub("  language_dim: 384", "  stages: [stage1, stage1]\n  language_dim: 384"),
         ["mixer.stages[1]", "listed twice"]),
    Case("duplicate-key", sub("    stage2: {channels: 24, depth: 2, stride: 2}\n",
                              "    stage2: {channels: 24, depth: 2, stride: 2}\n"
                              "    stage2: {channels: 24, depth: 2, stride: 2}\n"),
         ["s.yaml:13", "duplicate key 'stage2'"]),
    Case("complex-key", sub("share_weights: true", "? [a, b]\n: true"), ["s.yaml:6", "plain scalars"]),
    Case("integer-stage-name", sub("    stage4:", "    4:"), ["s.yaml:14", "backbone.stages[4]", "expected a string, got 4"]),
    Case("stage-name-dash", sub("    stage4:", "    stage-4:"), ["backbone.stages.stage-4", "identifier"]),
    Case("stage-name-too-long", sub("    stage4:", "    " + "s" * 100 + ":"), ["identifier", "64 characters"]),
    Case("top-level-list", "- name: tiny\n- branches: {}\n", ["s.yaml:1", "expected a mapping, got list"]),
    Case("two-documents", BASE + "---\n" + BASE, [f"s.yaml:{BASE.count(chr(10)) + 1}", "invalid YAML", "another document"]),
    # ---- names that become files or folders -------------------------------------------------
    Case("name-traversal", sub("name: tiny", "name: ../../x"), ["s.yaml:1", "name", "not a plain name"]),
    Case("name-rtl-override", sub("name: tiny", 'name: "tiny\\u202egpj.exe"'), ["s.yaml:1", "\\u202e"]),
    Case("name-nul", sub("name: tiny", 'name: "ti\\0ny"'), ["s.yaml:1", "\\x00", "not a plain name"]),
    # ---- files that are not text, not there, or not files -----------------------------------
    Case("utf16-file", BASE.encode("utf-16"), ["s.yaml:1", "not UTF-8"]),
    Case("latin1-byte-line-5", BASE.replace("  search:", "  search: #caf\xe9", 1).encode("latin-1"),
         ["s.yaml:5", "not UTF-8"]),
    Case("binary-png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, ["s.yaml:1", "not UTF-8"]),
    Case("raw-nul-byte", sub("share_weights: true", "share_weights: tr\0ue").encode(), ["s.yaml:6", "invalid YAML"]),
    Case("empty-file", "", ["s.yaml", "missing required key"]),
    Case("bom-does-not-hide-errors", "\ufeff" + sub("share_weights:", "share_weight:"),
         ["s.yaml:6", "unknown key 'share_weight'"]),
    Case("directory", directory, ["s.yaml", "is a directory"]),
    Case("missing-file", None, ["s.yaml", "file not found"]),
    Case("over-1MiB", BASE + "# " + "x" * (1 << 20) + "\n", ["s.yaml", "bytes in one YAML document",
                                                             limit("yaml_bytes")]),
    # ---- hostile YAML -------------------------------------------------------------------------
    Case("alias-bomb-description", sub("description: hostile-input base space",
                                       "description:\n" + indent(bomb())), [limit("yaml_nodes"), "s.yaml:"]),
    Case("alias-bomb-unknown-key", BASE + "extra:\n" + indent(bomb()) + "\n", [limit("yaml_nodes"), "s.yaml:"]),
    Case("too-many-aliases", "a: &a x\nb: [" + ", ".join(["*a"] * 1200) + "]\n" + BASE,
         ["s.yaml:2", limit("yaml_aliases")]),
    Case("recursive-alias", sub("description: hostile-input base space", "description: &d [1, *d]"),
         ["s.yaml:2", "recursive"]),
    Case("undefined-alias", sub("share_weights: true", "share_weights: *yes"), ["s.yaml:6", "no anchor"]),
    Case("flow-nesting-bomb", sub("description: hostile-input base space", "description: " + "[" * 100_000),
         ["s.yaml:2", limit("yaml_depth")]),
    Case("block-nesting-100", BASE + deep_mapping(100).replace("description:", "notes:"),
         ["s.yaml:", limit("yaml_depth")]),
    Case("json-nesting-bomb", '{"name": "x", "d": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}",
         ["s.yaml:1", limit("yaml_depth")]),
    Case("merge-key", sub("    stage3: {channels: 32, depth: 1, stride: 1, projection: true}",
                          "    stage3: &s3 {channels: 32, depth: 1, stride: 1, projection: true}")
         .replace("    stage4: {channels: 48, depth: 1, stride: 1, projection: true}",
                  "    stage4: {<<: *s3, channels: 48}"), ["s.yaml:14", "merge keys"]),
    Case("int-5000-digits-depth", sub("depth: 2,", "depth: " + "9" * 5000 + ","),
         ["s.yaml:12", limit("int_digits")]),
    Case("int-5000-digits-description", sub("description: hostile-input base space", "description: " + "7" * 5000),
         ["s.yaml:2", limit("int_digits")]),
    Case("nan-latency", BASE + "constraints: {max_latency_ms: .nan}\n",
         ["constraints.max_latency_ms", "finite"]),
    Case("python-tag", sub("description: hostile-input base space",
                           "description: !!python/object/apply:os.system ['touch PWNED']"),
         ["s.yaml:2", "tag", "not allowed"]),
    Case("custom-include-tag", sub("  stem: {", "  stem: !include stem.yaml\n  stem2: {"),
         ["s.yaml:8", "'!include'", "not allowed"]),
    # ---- sizes over the named limits ----------------------------------------------------------
    Case("depth-1e8", sub("depth: 2,", "depth: 100000000,"),
         ["s.yaml:12", "backbone.stages.stage2.depth", limit("space_depth")]),
    Case("depth-1e8-show", sub("depth: 2,", "depth: 100000000,"), [limit("space_depth")], command="show"),
    Case("channels-1e6", sub("channels: 24,", "channels: 1000000,"),
         ["backbone.stages.stage2.channels", limit("space_channels")]),
    Case("stem-channels-1e6", sub("stem: {channels: 8,", "stem: {channels: 1000000,"),
         ["backbone.stem.channels", limit("space_channels")]),
    Case("stem-kernel-999", sub("kernel: 3,", "kernel: 999,"), ["backbone.stem.kernel", limit("space_kernel")]),
    Case("input-4095", sub("{input: 127}", "{input: 4095}"), ["branches.search.input", limit("space_input")]),
    Case("language-dim-1e6", sub("language_dim: 384", "language_dim: 1000000"),
         ["mixer.language_dim", limit("space_language_dim")]),
    Case("40-stages", many_stages(40), ["backbone.stages", limit("space_stages")]),
    Case("9-branches", many_branches(9), ["branches", limit("space_branches")]),
    Case("too-many-blocks", sub("    stage1: {channels: 64, depth: 4, stride: 2}",
                                "    stage1: {channels: 64, depth: 64, stride: 2}", many_branches(8)) +
         "".join(f"    s{i}: {{channels: 64, depth: 64, stride: 1}}\n" for i in range(2, 4)),
         ["branches", limit("space_blocks")]),
    Case("40-candidate-ops", sub("ops: [shuffle3, shuffle5, shuffle7, xception3]",
                                 "ops: [" + ", ".join(["shuffle3"] * 40) + "]"),
         ["s.yaml:9", "backbone.ops", limit("space_ops")]),
    Case("too-many-ties", many_ties(200), ["ties", limit("space_ties")]),
    Case("pathological-tie-pattern", BASE + "ties:\n  '" + "*a" * 40 + "': '" + "*b" * 40 + "'\n",
         ["ties.", "matches no choice block"]),
    Case("supernet-weights-estimate", sub("    stage1: {channels: 64, depth: 4, stride: 2}",
                                          "    stage1: {channels: 4096, depth: 64, stride: 2}", BACKBONE_ONLY)
         + "    s2: {channels: 4096, depth: 64, stride: 1}\n",
         ["backbone", limit("space_supernet_params")]),
    Case("activation-estimate", sub("  backbone: {input: 224}", "  backbone: {input: 1024}",
                                    sub("stem: {channels: 16, kernel: 3, stride: 2}",
                                        "stem: {channels: 16, kernel: 3, stride: 1}",
                                        sub("channels: 64, depth: 4, stride: 2", "channels: 4096, depth: 1, stride: 2",
                                            BACKBONE_ONLY))),
         ["branches", limit("space_activations")]),
    Case("arch-cost-on-huge-space", sub("{input: 127}", "{input: 4095}"), [limit("space_input")],
         command="cost", cost_args=("--sots-cand", "[[0],[0],[0],[0]]")),
]


ARCH_CASES = [
    Case("cand-three-lists", None, ["--sots-cand", "list of 4 lists"], command="cost",
         cost_args=("--sots-cand", json.dumps(PAPER_CAND[:3]))),
    Case("cand-19-entries", None, ["--sots-cand", "template backbone", "expected 20 indices"], command="cost",
         cost_args=("--sots-cand", json.dumps([PAPER_CAND[0][:19], *PAPER_CAND[1:]]))),
    Case("cand-index-4", None, ["--sots-cand", "index 4 is not in 0..3"], command="cost",
         cost_args=("--sots-cand", json.dumps([[4] + PAPER_CAND[0][1:], *PAPER_CAND[1:]]))),
    Case("cand-python-syntax", None, ["--sots-cand", "invalid JSON"], command="cost",
         cost_args=("--sots-cand", "CAND = [[2,2,2], [1,3]]")),
    Case("cand-nesting-bomb", None, ["--sots-cand", limit("yaml_depth")], command="cost",
         cost_args=("--sots-cand", "[" * 30_000 + "]" * 30_000)),
    Case("cand-5000-digit-index", None, ["--sots-cand", limit("int_digits")], command="cost",
         cost_args=("--sots-cand", "[[" + "1" * 5000 + "],[],[],[]]")),
    Case("cand-nan", None, ["--sots-cand", "NaN is not a finite number"], command="cost",
         cost_args=("--sots-cand", "[[NaN],[],[],[]]")),
    Case("arch-unknown-block", "search.stage9.0: shuffle3\n", ["a.yaml:1", "search.stage9.0", "unknown block"],
         command="cost", cost_args=("--arch", "{f}"), file="a.yaml"),
    Case("arch-op-not-an-option", "search.stage1.0: skip\n", ["a.yaml:1", "search.stage1.0", "not an option"],
         command="cost", cost_args=("--arch", "{f}"), file="a.yaml"),
    Case("arch-missing-blocks", "search.stage1.0: shuffle3\n", ["a.yaml", "misses block"],
         command="cost", cost_args=("--arch", "{f}"), file="a.yaml"),
    Case("arch-alias-bomb", bomb() + "\n", ["a.yaml:", limit("yaml_nodes")],
         command="cost", cost_args=("--arch", "{f}"), file="a.yaml"),
    Case("arch-json-duplicate", '{"search.stage1.0": "shuffle3",\n "search.stage1.0": "shuffle5"}\n',
         ["a.json:2", "duplicate key"], command="cost", cost_args=("--arch", "{f}"), file="a.json"),
    Case("arch-and-cand", None, ["--sots-cand", "exactly one"], command="cost",
         cost_args=("--arch", "x.yaml", "--sots-cand", "[]")),
]


def _write(tmp: Path, case: Case) -> Path:
    path = tmp / case.file
    if callable(case.content):
        return case.content(tmp)
    if isinstance(case.content, bytes):
        path.write_bytes(case.content)
    elif isinstance(case.content, str):
        path.write_text(case.content, encoding="utf-8")
    return path


def _args(case: Case, path: Path) -> list[str]:
    if case.command in ("validate", "show"):
        return ["space", case.command, str(path)]
    # `arch cost`: a hostile space, or the paper's space with a hostile architecture
    space = path if case.file == "s.yaml" and case.content is not None else VLT_SCAR
    return ["arch", "cost", str(space), *(a.replace("{f}", str(path)) for a in case.cost_args)]


@pytest.mark.parametrize("case", SPACE_CASES + ARCH_CASES, ids=lambda c: c.id)
def test_refused(case: Case, tmp_path: Path) -> None:
    path = _write(tmp_path, case)
    before = snapshot(tmp_path)
    outcome = run_nasvl(_args(case, path), cwd=tmp_path)
    assert_refused(outcome, mentions=case.mentions, code=2)
    assert outcome.stderr.count("\n") == 1, outcome.stderr  # one line, not a cascade
    assert_contained(tmp_path, tmp_path / "out", before)


def test_case_count_and_ids() -> None:
    ids = [c.id for c in SPACE_CASES + ARCH_CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 60


def test_base_space_is_valid(tmp_path: Path) -> None:
    """Guards every case above: each is one edit away from a space the CLI accepts."""
    (tmp_path / "s.yaml").write_text(BASE)
    (tmp_path / "p.yaml").write_text(BACKBONE_ONLY)
    assert run_nasvl(["space", "validate", tmp_path / "s.yaml"], cwd=tmp_path).code == 0
    # The advice in a limit's message works: a depth over the default passes once the user raises it.
    deep = tmp_path / "d.yaml"
    deep.write_text(sub("depth: 4,", "depth: 100,", BACKBONE_ONLY))
    out = run_nasvl(["space", "validate", deep], cwd=tmp_path, env={"NASVL_LIMIT_SPACE_DEPTH": "128"})
    assert out.code == 0, out.stderr
