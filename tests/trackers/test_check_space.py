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
    ("tiny.yaml", "name: vlt_scar_tiny", "name: siamcar_tiny", "vision-only tracker cannot use a space with a 'mixer:'"),
    ("tiny_siamcar.yaml", "name: siamcar_tiny", "name: vlt_scar_tiny", "needs a 'mixer:' section"),
    ("tiny_transt.yaml", "name: transt_tiny", "name: vlt_tt_tiny", "needs a 'mixer:' section"),
    ("tiny_siamcar.yaml", "stage3: {channels: 32, depth: 1, stride: 1, projection: true}",
     "stage3: {channels: 32, depth: 1, stride: 2}", "different strides"),
    ("tiny_siamcar.yaml", "name: siamcar_tiny", "name: siamcar_tiny\n  options: {xcorr_stages: 5}",
     "xcorr_stages=5"),
    ("tiny_transt.yaml", "name: transt_tiny", "name: transt_tiny\n  options: {d_model: 30, heads: 4}",
     "must divide d_model"),
])
def test_plugin_rejects_space(base: str, old: str, new: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        parse_space_text(_variant(base, old, new), base)
    assert str(info.value).startswith(f"{base}:")  # file:line: tracker: …


def test_unknown_option_is_located() -> None:
    text = _variant("tiny.yaml", "name: vlt_scar_tiny", "name: vlt_scar_tiny\n  options: {hiden: 8}")
    with pytest.raises(ConfigError, match=r"tiny.yaml:\d+: tracker.options.*hiden"):
        parse_space_text(text, "tiny.yaml")
