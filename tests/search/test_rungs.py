"""Multi-fidelity rungs (issue 16, item 3), driven through the real `StrategySearcher` without Ray.

Scores are planted per (architecture, rung), so promotions are known in advance; kills are simulated
by dropping the searcher and resuming a fresh one from `search_state.json`, the way `--resume` does,
and every check counts records (never time).
"""

from __future__ import annotations

import json
import random

import pytest
from ray.tune.search import Searcher

from nasvl.config import load_yaml_text
from nasvl.errors import ConfigError
from nasvl.search.config import parse_search_spec
from nasvl.search.records import load_records
from nasvl.search.rungs import promoted
from nasvl.search.tune import StrategySearcher
from nasvl.space import load_space
from tests.conftest import SPACES


@pytest.fixture(scope="module")
def tiny_raw():
    return load_space(SPACES / "tiny.yaml").raw


def score(arch: dict, rung: int) -> float:
    """A planted, deterministic score: the same architecture ranks the same on every rung, plus noise."""
    base = random.Random(json.dumps(arch, sort_keys=True)).random()
    return round(base + 0.01 * rung, 6)


FRAMES = [10, 40]  # frames per evaluation on rung 0 and on the full rung


def metrics(arch: dict, rung: int) -> dict:
    s = score(arch, rung)
    return {"suc": s, "prec": s, "norm_prec": s, "params": 1, "macs": 1, "latency_ms": 1.0, "wall_s": 0.1,
            "eval_frames": FRAMES[rung]}


def test_promotion_rule_is_asha_top_fraction() -> None:
    assert promoted(0.5, [0.5], 0.25)                       # the first of a rung always climbs
    assert not promoted(0.2, [0.5, 0.2], 0.5) and promoted(0.6, [0.5, 0.2, 0.6], 0.34)
    assert promoted(0.4, [0.1, 0.2, 0.3, 0.4], 0.25) and not promoted(0.3, [0.1, 0.2, 0.3, 0.4], 0.25)
    assert not promoted(float("nan"), [0.3, float("nan")], 1.0)


def _drive(searcher: StrategySearcher, parallel: int, stop_after: int | None, tune_ids: list[int],
           done: list[tuple[str, int]]) -> bool:
    """Run the searcher like Tune does with `parallel` workers; returns True when it finished.

    `stop_after` events (completions) into the run, the driver "dies": in-flight trials are abandoned.
    """
    running: list[tuple[str, dict]] = []
    events = 0
    while True:
        while len(running) < parallel:
            tid = f"t{tune_ids[0]}"
            tune_ids[0] += 1
            config = searcher.suggest(tid)
            if config == Searcher.FINISHED:
                assert not running
                return True
            if config is None:
                break
            running.append((tid, config))
        assert running, "the searcher waits with nothing in flight"
        tid, config = running.pop(0)  # FIFO completions
        if stop_after is not None and events == stop_after:
            return False
        done.append((config["nasvl_trial"], config["rung"]))
        searcher.on_trial_complete(tid, metrics(config["arch"], config["rung"]))
        events += 1


@pytest.mark.parametrize("strategy,options", [
    ("random", {"budget": 12}),
    ("spos_evolution", {"population": 4, "top_k": 2, "mutations": 2, "crossovers": 1, "generations": 3}),
    ("optuna", {"budget": 8, "storage": "memory", "n_startup_trials": 3}),
], ids=["random", "evolution", "optuna"])
def test_every_strategy_climbs_rungs_as_configured(tiny_raw, tmp_path, strategy, options) -> None:
    s = StrategySearcher(strategy, tiny_raw, 0, options, run_dir=str(tmp_path), promote=[0.5])
    done: list[tuple[str, int]] = []
    assert _drive(s, 1, None, [0], done)
    rung0 = [e for e in s.evaluations if e["rung"] == 0]
    rung1 = [e for e in s.evaluations if e["rung"] == 1]
    # With one worker the order is known: replay ASHA's rule over the rung-0 scores as they came in.
    seen: list[float] = []
    expected = []
    for e in rung0:
        seen.append(e["suc"])
        if promoted(e["suc"], seen, 0.5):
            expected.append(e["trial"])
    assert [e["trial"] for e in rung1] == expected and 0 < len(rung1) < len(rung0)
    # Only full-rung scores reach the strategy; the others stopped (not failed, never ranked).
    told = {t.trial_id: t.result for t in s.strategy.trials}
    assert {t for t, r in told.items() if r.ok} == set(expected)
    assert all(told[e["trial"]].suc == e["suc"] for e in rung1)
    _write_meta(tmp_path)
    records = load_records(tmp_path)
    assert len(records.completed) == len(expected) and len(records.stopped) == len(rung0) - len(expected)
    assert records.summary()["eval_frames"] == FRAMES[0] * len(rung0) + FRAMES[1] * len(rung1)


def _write_meta(run_dir) -> None:
    (run_dir / "search.json").write_text(json.dumps({"config": {}, "supernet": "x.pt"}))


@pytest.mark.parametrize("kill_at", [1, 3, 5, 8])
def test_killed_multi_fidelity_search_resumes_with_nothing_lost_or_repeated(tiny_raw, tmp_path, kill_at) -> None:
    """Kill the driver `kill_at` completions in (and again 4 later), resume from JSON, count evaluations."""
    options = {"budget": 10}
    reference: list[tuple[str, int]] = []
    _drive(StrategySearcher("random", tiny_raw, 0, options, promote=[0.5]), 2, None, [0], reference)

    done: list[tuple[str, int]] = []
    tune_ids = [0]
    s = StrategySearcher("random", tiny_raw, 0, options, run_dir=str(tmp_path), promote=[0.5])
    kills = 0
    for stop in (kill_at, 4, None):
        if kills:
            state = json.loads((tmp_path / "search_state.json").read_text())  # what --resume reads
            s = StrategySearcher("random", tiny_raw, 0, options, run_dir=str(tmp_path), promote=[0.5])
            s.resume(state)
        if _drive(s, 2, stop, tune_ids, done):
            break
        kills += 1
    assert kills == 2
    # Nothing repeated: every (candidate, rung) evaluation that finished was recorded once and never run again.
    assert len(done) == len(set(done))
    records_state = json.loads((tmp_path / "search_state.json").read_text())
    recorded = [(e["trial"], e["rung"]) for e in records_state["evaluations"]]
    assert sorted(recorded) == sorted(done)
    # Nothing lost: the same candidates reached the same rungs as an uninterrupted search.
    assert sorted(recorded) == sorted(reference)
    _write_meta(tmp_path)
    records = load_records(tmp_path)
    assert not [r for r in records.records if r.status == "pending"]
    assert len(records.completed) + len(records.stopped) == options["budget"]


def _spec(rungs: str):
    text = f"""\
name: s
val: {{root: /nonexistent/val, format: lasot}}
search:
  strategy: random
  eval: {{max_videos: 8, max_frames: 40}}
  rungs: {rungs}
"""
    return parse_search_spec(load_yaml_text(text, "search.yaml").root, source="/tmp/search.yaml")


def test_rungs_parse_and_bad_rungs_are_located() -> None:
    spec = _spec("[{max_videos: 2, max_frames: 10, promote: 0.25}, {max_videos: 4, max_frames: 20}]")
    assert [r.promote for r in spec.search.rungs] == [0.25, 0.5]
    for rungs, fragment in [("[{max_videos: 9}]", "search.rungs[0].max_videos"),
                            ("[{max_frames: 10, promote: 0}]", "search.rungs[0].promote"),
                            ("[{promote: 0.5}]", "a rung needs"),
                            ("[{max_videos: 4}, {max_videos: 2}]", "search.rungs[0].max_videos"),
                            ("[{max_videos: 2}, {max_videos: 4, max_frames: 20}]", "max_frames 40")]:
        with pytest.raises(ConfigError) as exc:
            _spec(rungs)
        assert fragment in str(exc.value), str(exc.value)


def test_a_rung_evaluates_its_own_videos_and_frames_and_the_last_rung_is_the_full_eval() -> None:
    from nasvl.search.rungs import rung_config

    spec = _spec("[{max_videos: 2, max_frames: 10, promote: 0.25}, {max_frames: 20}]")
    full = spec.search.eval
    cheap, mid, last = (rung_config(spec.search.rungs, r, full) for r in range(3))
    assert (cheap.max_videos, cheap.max_frames) == (2, 10) and (mid.max_videos, mid.max_frames) == (8, 20)
    assert last == full and cheap.recalibration_batches == full.recalibration_batches


def test_report_shows_what_the_search_spent_per_rung_and_the_best_score_against_frames(tiny_raw, tmp_path) -> None:
    from nasvl.search.costs import search_cost
    from tests.adversarial.harness import run_nasvl

    s = StrategySearcher("random", tiny_raw, 0, {"budget": 8}, run_dir=str(tmp_path), promote=[0.5])
    assert _drive(s, 2, None, [0], [])
    (tmp_path / "search.json").write_text(json.dumps({"config": {"search": {"rungs": [{"max_frames": 10}]}},
                                                      "supernet": "x.pt"}))
    cost = search_cost(load_records(tmp_path))
    n0 = sum(e["rung"] == 0 for e in s.evaluations)
    n1 = len(s.evaluations) - n0
    assert [(r["rung"], r["evaluations"], r["frames"]) for r in cost["rungs"]] == \
        [(0, n0, n0 * FRAMES[0]), (1, n1, n1 * FRAMES[1])]
    assert cost["eval_frames"] == n0 * FRAMES[0] + n1 * FRAMES[1] and n0 == 8
    growth = cost["best_vs_frames"]
    best_full = max(e["suc"] for e in s.evaluations if e["rung"] == 1)
    assert growth[-1]["best_suc"] == best_full  # only full-rung scores count as "best"
    assert all(a["frames"] < b["frames"] and a["best_suc"] < b["best_suc"] for a, b in zip(growth, growth[1:], strict=False))
    out = run_nasvl(["search", "report", str(tmp_path)], cwd=tmp_path)
    assert out.code == 0, out.output
    assert f"{len(s.evaluations)} evaluations" in out.stdout and "search cost" in out.stdout
    assert "stopped at a cheap rung" in out.stdout and (tmp_path / "plots" / "best_vs_frames.png").is_file()


@pytest.mark.parametrize("bad", [{"trial": "000000", "rung": 0, "suc": 0.1, "frames": "many", "wall_s": 1.0},
                                 {"rung": 0}, "not a mapping"], ids=["string-frames", "no-trial", "not-a-mapping"])
def test_a_crafted_evaluation_record_is_one_clear_error(tiny_raw, tmp_path, bad) -> None:
    from tests.adversarial.harness import assert_refused, run_nasvl

    s = StrategySearcher("random", tiny_raw, 0, {"budget": 2}, run_dir=str(tmp_path), promote=[0.5])
    assert _drive(s, 1, None, [0], [])
    _write_meta(tmp_path)
    state = json.loads((tmp_path / "search_state.json").read_text())
    state["evaluations"].append(bad)
    (tmp_path / "search_state.json").write_text(json.dumps(state))
    assert_refused(run_nasvl(["search", "report", str(tmp_path)], cwd=tmp_path),
                   mentions=["search_state.json", "not a nasvl search state"])
