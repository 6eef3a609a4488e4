"""Space limits that the CLI suite cannot reach: embedded spaces, enumerate, tie matching."""

from __future__ import annotations

import json

import pytest
import yaml

from nasvl.errors import ConfigError
from nasvl.space import load_arch, parse_space_dict, parse_space_text
from nasvl.space.parse import _glob
from tests.conftest import TINY_BACKBONE


def test_embedded_space_is_bounded_like_a_file() -> None:
    """An export embeds its space and is parsed by the same parser: a resealed input 4095 is refused."""
    data = yaml.safe_load(TINY_BACKBONE)
    data["branches"]["search"]["input"] = 4095
    with pytest.raises(ConfigError, match=r"export.json#space: branches.search.input: 4095 exceeds .*"
                                          r"NASVL_LIMIT_SPACE_INPUT"):
        parse_space_dict(json.loads(json.dumps(data)), "export.json#space")


def test_enumerate_is_bounded(monkeypatch) -> None:
    space = parse_space_text(TINY_BACKBONE, "t.yaml")
    monkeypatch.setenv("NASVL_LIMIT_SPACE_ENUMERATE", "10")
    with pytest.raises(ConfigError, match="NASVL_LIMIT_SPACE_ENUMERATE"):
        next(space.enumerate())


@pytest.mark.parametrize(("pattern", "path", "groups"), [
    ("template.*", "template.stage1.0", ("stage1.0",)),
    ("template.*.0", "template.stage1.0", ("stage1",)),
    ("*.stage1.*", "search.stage1.post", ("search", "post")),
    ("template.*", "template.", None),
    ("*a*a*a*a", "search.stage1.0", None),
    ("search.stage1.0", "search.stage1.0", ()),
])
def test_glob(pattern: str, path: str, groups: tuple[str, ...] | None) -> None:
    assert _glob(pattern, path) == groups


def test_long_tie_chain_resolves_to_its_root() -> None:
    text = TINY_BACKBONE + "ties:\n" + (
        "  template.stage1.0: template.stage2.0\n  template.stage2.0: template.stage2.1\n"
        "  template.stage2.1: search.stage1.0\n")
    space = parse_space_text(text, "t.yaml")
    leaders = {b.path: b.leader for b in space.blocks if b.leader}
    assert set(leaders.values()) == {"search.stage1.0"} and len(leaders) == 3


def test_arch_text_errors_are_located() -> None:
    space = parse_space_text(TINY_BACKBONE, "t.yaml")
    with pytest.raises(ConfigError, match=r"^arch.json:2: search.nope: unknown block"):
        load_arch(space, '{"search.stage1.0": "shuffle3",\n "search.nope": "skip"}', file="arch.json")
