"""`nasvl search CONFIG --strategy X` keeps the options the config gives for X (issue 16, item 4)."""

from __future__ import annotations

import pytest

from nasvl.config import load_yaml_text
from nasvl.errors import ConfigError
from nasvl.search.config import parse_search_spec, with_strategy
from nasvl.search.strategy import build_strategy
from nasvl.space import parse_space_text
from tests.conftest import TINY_BACKBONE

BASE = """\
name: s
val: {root: /nonexistent/val, format: lasot}
search:
  strategy: spos_evolution
  options: {population: 6, generations: 2}
"""


def _spec(extra: str = ""):
    return parse_search_spec(load_yaml_text(BASE + extra, "search.yaml").root, source="/tmp/search.yaml")


def test_switching_strategy_takes_the_configs_options_for_it() -> None:
    search, note = with_strategy(_spec("  strategy_options: {random: {budget: 7}}\n").search, "random")
    assert (search.strategy, search.options, note) == ("random", {"budget": 7}, None)
    strategy = build_strategy(search.strategy, parse_space_text(TINY_BACKBONE, "tiny.yaml"), **search.options)
    assert strategy.options.budget == 7  # not random's default of 1000


def test_naming_the_configs_own_strategy_keeps_its_options() -> None:
    search, note = with_strategy(_spec().search, "spos_evolution")
    assert search.options == {"population": 6, "generations": 2} and note is None


def test_a_strategy_without_options_in_the_config_says_it_uses_defaults() -> None:
    search, note = with_strategy(_spec().search, "random")
    assert search.options == {} and note is not None and "strategy_options.random" in note


@pytest.mark.parametrize(("extra", "mentions"), [
    ("  strategy_options: {nope: {budget: 3}}\n", ["strategy_options.nope", "unknown strategy"]),
    ("  strategy_options: {spos_evolution: {population: 3}}\n", ["strategy_options.spos_evolution", "one place"]),
], ids=["unknown-strategy", "options-twice"])
def test_bad_strategy_options_are_refused(extra: str, mentions: list[str]) -> None:
    with pytest.raises(ConfigError) as exc:
        _spec(extra)
    for fragment in mentions:
        assert fragment in str(exc.value)


def test_unknown_strategy_on_the_command_line_is_refused() -> None:
    with pytest.raises(ConfigError, match="--strategy"):
        with_strategy(_spec().search, "nope")
