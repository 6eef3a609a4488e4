"""`nasvl search fidelity` end to end on Ray (marked `ray`): trains K subnets, scores them, resumes."""

from __future__ import annotations

import json

import pytest

from nasvl.search.fidelity import run_fidelity
from tests.search.fidelity_utils import planted_search

pytestmark = pytest.mark.ray


def test_fidelity_trains_scores_and_resumes_without_retraining(search_setup, tmp_path) -> None:
    spec = search_setup.spec("fid", strategy="random", options="{budget: 5}", max_frames=8)
    run_dir = tmp_path / "run"
    planted_search(spec, search_setup.ckpt, run_dir, [0.1, 0.5, 0.3, 0.2, 0.4])
    summary = run_fidelity(run_dir, k=3, train_steps=2, workers=2)
    # The three chosen span the planted range: lowest, middle, highest supernet score.
    assert sorted(p["supernet_suc"] for p in summary["points"]) == [0.1, 0.3, 0.5]
    assert summary["evaluated"] + summary["failed"] == 3 and summary["evaluated"] >= 2, summary
    assert summary["kendall_tau"]["value"] is not None and -1 <= summary["kendall_tau"]["value"] <= 1
    saved = json.loads((run_dir / "fidelity" / "fidelity.json").read_text())
    assert saved["kendall_tau"] == summary["kendall_tau"] and (run_dir / "fidelity" / "fidelity.png").is_file()
    # Resume: every result is recorded, so a rerun trains and evaluates nothing again.
    results = sorted((run_dir / "fidelity").glob("*/result.json"))
    stamps = [p.stat().st_mtime_ns for p in results]
    again = run_fidelity(run_dir, k=3, train_steps=2, workers=2)
    assert [p.stat().st_mtime_ns for p in results] == stamps and again["points"] == summary["points"]
    with pytest.raises(Exception, match="started with"):
        run_fidelity(run_dir, k=4, train_steps=2)
