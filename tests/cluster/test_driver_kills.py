"""SIGKILL of `nasvl run` inside supernet training, mid-search and mid-retrain, each point chosen by
counting events (checkpoints written, trials recorded); `--resume` after each (local runtime)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasvl.search.records import load_records
from nasvl.train.checkpoint import list_checkpoints
from tests.bounds import HANG_S
from tests.cluster.conftest import BASE_ENV, mini_job, told, write_job
from tests.cluster.hosts import descendants
from tests.conftest import ROOT

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _descendants(pid: int) -> dict[int, str]:
    """Processes below `pid` with their start times (a reused PID is not the same process)."""
    out: dict[int, str] = {}
    for k in descendants(pid):
        try:
            out[k] = Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[19]
        except OSError:
            continue
    return out


def _alive(procs: dict[int, str]) -> list[int]:
    left = []
    for pid, start in procs.items():
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19] == start:
                left.append(pid)
        except OSError:
            pass
    return left


def _sha(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.pt"))}


def test_killed_driver_resumes_at_three_counted_points(tmp_path) -> None:
    text = mini_job("kills", train_steps=24, budget=6).replace("compute: {train_workers: 2}\n", "")
    text = text.replace("retrain:\n  train: {steps: 4,", "retrain:\n  train: {steps: 12,")
    job = write_job(tmp_path / "jobs", text)
    work = tmp_path / "work"
    work.mkdir()
    run_dir = work / "runs" / "kills"
    env = {**os.environ, **BASE_ENV, "PYTHONPATH": str(ROOT)}
    env.pop("RAY_ADDRESS", None)
    log = tmp_path / "driver.log"
    saved: dict[str, dict[str, str]] = {}
    points = [  # (what, event counted in the run folder)
        ("supernet", lambda: len(list_checkpoints(run_dir / "supernet" / "checkpoints")) >= 2),
        ("search", lambda: told(run_dir) >= 3),
        ("retrain", lambda: len(list_checkpoints(run_dir / "retrain" / "checkpoints")) >= 2),
    ]
    with log.open("ab") as out:
        for i, (what, reached) in enumerate(points):
            proc = subprocess.Popen([sys.executable, "-m", "nasvl.cli", "run", str(job),
                                     *(["--resume"] if i else [])], cwd=work, env=env, stdout=out, stderr=out,
                                    start_new_session=True)
            deadline = time.monotonic() + HANG_S
            while not reached():
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-4000:]
                time.sleep(0.05)
            before = _sha(run_dir / what / "checkpoints") if what != "search" else {}
            procs = _descendants(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)  # the driver alone: what it started must go by itself
            proc.wait(timeout=60)
            deadline = time.monotonic() + 60
            while _alive(procs) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert not _alive(procs), f"after the kill in {what}, processes of the killed run live on: {_alive(procs)}"
            saved[what] = before
            out.write(f"--- killed in {what} ---\n".encode())
            out.flush()
        final = subprocess.run([sys.executable, "-m", "nasvl.cli", "run", str(job), "--resume"], cwd=work, env=env,
                               stdout=out, stderr=out, timeout=HANG_S)
    text_log = log.read_text()
    assert final.returncode == 0, text_log[-4000:]
    assert "Traceback" not in text_log
    assert text_log.count("resuming") >= 3, "each resume says what it resumed from"
    assert "resuming supernet training" in text_log and "resuming retrain training" in text_log
    records = load_records(run_dir / "search")
    assert sorted(r.nasvl_trial for r in records.records) == [f"{i:06d}" for i in range(6)]
    assert len(records.completed) == 6
    assert records.reruns() <= 2  # only evaluations in flight at the kill ran again
    assert (run_dir / "evaluate" / "DONE.json").is_file()
    for what, before in saved.items():  # checkpoints written before a kill are never rewritten
        after = _sha(run_dir / what / "checkpoints")  # (pruned by keep_checkpoints: allowed)
        assert {k: after[k] for k in before if k in after} == {k: v for k, v in before.items() if k in after}, what
    assert saved["supernet"].keys() <= _sha(run_dir / "supernet" / "checkpoints").keys()  # keep_checkpoints: 0
