"""Helpers for the Ray-marked search tests: processes we start, and only those, get cleaned up.

`ray stop --force` is not used on purpose: it kills every Ray process on the machine, including
other people's clusters and jobs. A cluster started here lives under its own `--temp-dir`, so its
processes are found by that unique path and killed by pid.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil  # noqa: E402
import ray  # noqa: F401  (puts Ray's vendored psutil on sys.path; the venv has no other)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kill_pids(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def descendants(pid: int) -> list[int]:
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def processes_mentioning(token: str) -> list[int]:
    """Pids whose command line contains `token` (a temp dir only our cluster uses)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid == os.getpid():
            continue
        try:
            if token in " ".join(proc.info["cmdline"] or ()):
                found.append(proc.pid)
        except psutil.Error:
            pass
    return found


def trial_workers(root_pid: int) -> list[psutil.Process]:
    """Tune trial actors (`ray::ImplicitFunc...` process titles) below `root_pid`."""
    out = []
    try:
        children = psutil.Process(root_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return out
    for proc in children:
        try:
            title = proc.name() + " " + " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if "ImplicitFunc" in title:
            out.append(proc)
    return out


def nasvl(*args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen([sys.executable, "-m", "nasvl.cli", *args], cwd=ROOT, env=env,
                            start_new_session=True, **kwargs)


def kill_driver(proc: subprocess.Popen) -> None:
    """SIGKILL the search driver, then the Ray runtime it had started (its descendants, by pid)."""
    below = descendants(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    kill_pids(below)


def wait_for(predicate: Callable[[], bool], timeout: float, poll: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return False


def audit_lines(run_dir: Path) -> int:
    path = run_dir / "evaluations.log"
    return len(path.read_text().splitlines()) if path.is_file() else 0


def told_trials(run_dir: Path) -> int:
    """Trials whose result the driver has recorded (nasvl's own records; torn reads count as 0)."""
    import json

    try:
        state = json.loads((run_dir / "search_state.json").read_text())
    except (OSError, ValueError):
        return 0
    strategy = state["strategy"]
    return sum(1 for t in strategy["trials"] if t["result"] is not None)
