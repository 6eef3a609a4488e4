"""Fault tolerance on Ray (marked `ray`): a killed driver resumes, a killed worker's trial is retried."""

from __future__ import annotations

import json
import threading

import pytest

from nasvl.search.records import load_records
from nasvl.search.run import run_search
from tests.bounds import HANG_S
from tests.search.ray_utils import audit_lines, kill_driver, nasvl, told_trials, trial_workers, wait_for

pytestmark = pytest.mark.ray

BUDGET = 10
PARALLEL = 2
KILLS = 3


def test_killed_driver_resumes_without_losing_evaluations(search_setup, tmp_path) -> None:
    config = search_setup.config("killres", strategy="random", options=f"{{budget: {BUDGET}}}", parallel=PARALLEL,
                                 max_frames=8)
    run_dir = tmp_path / "run"
    base = ["search", str(config), "--supernet", str(search_setup.ckpt), "--out", str(run_dir)]
    log = tmp_path / "driver.log"
    kills = 0
    with log.open("ab") as out:
        for attempt in range(KILLS):
            # Kill as soon as the records hold 2, 4, 6 told trials: counted events, not a clock, so
            # the search can never outrun the kills however loaded the machine is.
            target = 2 * (attempt + 1)
            proc = nasvl(*base, *(["--resume"] if attempt else []), stdout=out, stderr=out)
            reached = wait_for(lambda t=target, p=proc: told_trials(run_dir) >= t or p.poll() is not None, HANG_S)
            assert reached and proc.poll() is None, log.read_text()[-3000:]
            kill_driver(proc)
            kills += 1
            print(f"kill {kills}: after {told_trials(run_dir)} told trials, {audit_lines(run_dir)} evaluations")
        final = nasvl(*base, "--resume", stdout=out, stderr=out)
        assert final.wait(timeout=HANG_S) == 0, log.read_text()[-3000:]
    assert "resuming" in log.read_text(), "a resumed search must say what it resumed from"
    records = load_records(run_dir)
    # Every architecture the strategy proposed is in the records exactly once, completed.
    assert sorted(r.nasvl_trial for r in records.records) == [f"{i:06d}" for i in range(BUDGET)]
    assert len(records.completed) == BUDGET
    keys = [json.dumps(r.arch, sort_keys=True) for r in records.records]
    assert len(set(keys)) == BUDGET
    # No completed evaluation is lost: whatever finished ok (audit log) is a completed record.
    audit = records.audit()
    recorded_keys = {_arch_key(search_setup, r.arch) for r in records.completed}
    assert {line["arch_key"] for line in audit if line["ok"]} <= recorded_keys
    reruns = records.reruns()
    print(f"kill/resume: {kills} driver kills, {len(audit)} evaluations for {BUDGET} architectures, "
          f"{reruns} re-runs of completed evaluations")
    assert reruns <= PARALLEL * kills


def _arch_key(search_setup, arch: dict) -> str:
    from nasvl.train.loop import supernet_from_checkpoint

    if not hasattr(_arch_key, "space"):
        _arch_key.space = supernet_from_checkpoint(search_setup.ckpt)[0].space  # type: ignore[attr-defined]
    return _arch_key.space.arch(arch).key  # type: ignore[attr-defined]


def test_killed_worker_trial_is_retried(search_setup, tmp_path) -> None:
    import os
    import signal

    import ray

    ray.shutdown()
    spec = search_setup.spec("workerkill", strategy="random", options="{budget: 5}", parallel=PARALLEL,
                             max_frames=20)
    run_dir = tmp_path / "run"
    killed: list[int] = []
    search_over = threading.Event()  # ends the killer's waits, so it never polls on into later tests

    def killer() -> None:
        # Wait until the first evaluation finished (workers are warm), then kill a trial actor
        # that is busy with the next candidate.
        if not wait_for(lambda: audit_lines(run_dir) >= 1 or search_over.is_set(), HANG_S) or search_over.is_set():
            return
        workers = []
        wait_for(lambda: search_over.is_set() or bool(workers.extend(trial_workers(os.getpid())) or workers), HANG_S)
        if workers:
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(workers[0].pid)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    try:
        summary = run_search(spec, search_setup.ckpt, run_dir, live=False)
    finally:
        search_over.set()
        thread.join(timeout=5)
        ray.shutdown()
    assert killed, "no Tune trial worker process was found to kill"
    records = load_records(run_dir)
    assert summary["completed"] == 5 and len(records.completed) == 5
    assert sorted(r.nasvl_trial for r in records.records) == [f"{i:06d}" for i in range(5)]
    retried = sum(r.retries for r in records.records)
    audit_keys = [line["arch_key"] for line in records.audit()]
    print(f"worker kill: pid {killed[0]}, {retried} trial retries, {len(audit_keys)} evaluations logged")
    assert retried >= 1 or len(audit_keys) > len(set(audit_keys))
