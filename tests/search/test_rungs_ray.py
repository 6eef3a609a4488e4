"""A real multi-fidelity search on Ray, killed twice and resumed (marked `ray`): counted, never timed."""

from __future__ import annotations

import json

import pytest

from nasvl.search.records import load_records
from tests.bounds import HANG_S
from tests.search.ray_utils import kill_driver, nasvl, wait_for

pytestmark = pytest.mark.ray

BUDGET = 8
RUNGS = "  rungs: [{max_videos: 2, max_frames: 4, promote: 0.5}]\n"


def _evaluations(run_dir) -> int:
    try:
        return len(json.loads((run_dir / "search_state.json").read_text()).get("evaluations", []))
    except (OSError, ValueError):
        return 0


def test_killed_multi_fidelity_search_resumes_with_nothing_lost(search_setup, tmp_path) -> None:
    config = search_setup.config("mf", strategy="random", options=f"{{budget: {BUDGET}}}", parallel=2,
                                 max_frames=8, extra=RUNGS)
    run_dir = tmp_path / "run"
    base = ["search", str(config), "--supernet", str(search_setup.ckpt), "--out", str(run_dir)]
    log = tmp_path / "driver.log"
    with log.open("ab") as out:
        for attempt, target in enumerate((2, 5)):
            proc = nasvl(*base, *(["--resume"] if attempt else []), stdout=out, stderr=out)
            reached = wait_for(lambda t=target, p=proc: _evaluations(run_dir) >= t or p.poll() is not None, HANG_S)
            assert reached and proc.poll() is None, log.read_text()[-3000:]
            kill_driver(proc)
        final = nasvl(*base, "--resume", stdout=out, stderr=out)
        assert final.wait(timeout=HANG_S) == 0, log.read_text()[-3000:]
    records = load_records(run_dir)
    # Every proposed candidate ended completed (full rung) or stopped at rung 0: none lost or pending.
    assert sorted(r.nasvl_trial for r in records.records) == [f"{i:06d}" for i in range(BUDGET)]
    assert len(records.completed) + len(records.stopped) == BUDGET and records.completed
    # Each (candidate, rung) evaluation is recorded once; the audit log shows no completed one re-run
    # beyond the trials in flight at the two kills.
    pairs = [(e["trial"], e["rung"]) for e in records.evaluations]
    assert len(pairs) == len(set(pairs))
    assert sum(e["rung"] == 0 for e in records.evaluations) == BUDGET
    assert {t for t, r in pairs if r == 1} == {r.nasvl_trial for r in records.completed}
    assert records.reruns() <= 2 * 2
