"""Plugins reject spaces they cannot wrap, with a located error."""

from __future__ import annotations

import pytest

from nasvl.errors import ConfigError
from nasvl.space import parse_space_text
from tests.conftest import SPACES


def _variant(base: str, old: str, new: str) -> str:
    text = (SPACES / base).read_text()
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize(("base", "old", "new", "match"), [
    ("tiny.yaml", "name: vlt_scar\n", "name: siamcar\n", "vision-only tracker cannot use a space with a 'mixer:'"),
    ("tiny_siamcar.yaml", "name: siamcar\n", "name: vlt_scar\n", "needs a 'mixer:' section"),
    ("tiny_transt.yaml", "name: transt\n", "name: vlt_tt\n", "needs a 'mixer:' section"),
    ("tiny_siamcar.yaml", "stage3: {channels: 32, depth: 1, stride: 1, projection: true}",
     "stage3: {channels: 32, depth: 1, stride: 2}", "different strides"),
    ("tiny_siamcar.yaml", "options: {size: tiny}", "options: {size: tiny, xcorr_stages: 5}", "xcorr_stages=5"),
    ("tiny_transt.yaml", "options: {size: tiny}", "options: {size: tiny, d_model: 30, heads: 4}",
     "must divide d_model"),
    ("tiny.yaml", "options: {size: tiny}", "options: {size: huge}", "size: 'huge' is not one of full, tiny"),
])
def test_plugin_rejects_space(base: str, old: str, new: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        parse_space_text(_variant(base, old, new), base)
    assert str(info.value).startswith(f"{base}:")  # file:line: tracker: …


def test_unknown_option_is_located() -> None:
    text = _variant("tiny.yaml", "options: {size: tiny}", "options: {size: tiny, hiden: 8}")
    with pytest.raises(ConfigError, match=r"tiny.yaml:\d+: tracker.options.*hiden"):
        parse_space_text(text, "tiny.yaml")


def test_size_fills_in_defaults_and_explicit_options_win() -> None:
    tiny = parse_space_text(_variant("tiny.yaml", "options: {size: tiny}", "options: {size: tiny, hidden: 16}"),
                            "tiny.yaml").tracker.options
    assert (tiny.size, tiny.hidden, tiny.tower_depth, tiny.norm_groups, tiny.template_crop) == ("tiny", 16, 1, 8, 4)
    full = parse_space_text(_variant("tiny.yaml", "options: {size: tiny}", "options: {size: full}"),
                            "tiny.yaml").tracker.options
    assert (full.hidden, full.tower_depth, full.norm_groups) == (256, 4, 32)
