"""Every registered tracker plugin, ours and the plugins', passes the shipped conformance suite
(nasvl.testing.trackers)."""

from __future__ import annotations

import pytest

import trackers  # noqa: F401  (registers the built-in plugins before the registry is listed)
from nasvl.space.tracker import TRACKERS
from nasvl.testing.trackers import CHECKS


@pytest.mark.parametrize("name", TRACKERS.names())
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_tracker_conformance(name: str, check) -> None:
    check(name)


def test_the_suite_catches_a_plugin_that_misstates_its_score_size(monkeypatch) -> None:
    from nasvl.testing.trackers import check_score_map_geometry, check_two_phases_equal_one_forward

    base = TRACKERS.get("vlt_scar")

    class OffByOne(base):  # type: ignore[misc,valid-type]
        def score_size(self) -> int:
            return super().score_size() + 1

    monkeypatch.setitem(TRACKERS._items, "conformance_off_by_one", OffByOne)
    check_two_phases_equal_one_forward("conformance_off_by_one")  # the network itself is fine ...
    with pytest.raises(AssertionError, match="not per cell"):
        check_score_map_geometry("conformance_off_by_one")  # ... its declared geometry is not
