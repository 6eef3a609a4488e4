"""A search on two Ray nodes on loopback, each started with `ray start` (marked `ray`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from nasvl.search.records import load_records
from tests.bounds import HANG_S
from tests.search.ray_utils import free_port, kill_pids, processes_mentioning, trial_workers

pytestmark = pytest.mark.ray

RAY = str(Path(sys.executable).with_name("ray"))


def _env() -> dict[str, str]:
    """A loopback test cluster needs no auth: `ray start --head` would turn token auth on by itself when
    a token exists (~/.ray/auth_token, or a private token an earlier local runtime of this process set)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", RAY_USAGE_STATS_ENABLED="0",
               RAY_AUTH_MODE="disabled")
    for key in ("RAY_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        env.pop(key, None)
    return env


def _ray_start(*args: str, temp_dir: str) -> None:
    done = subprocess.run([RAY, "start", *args, "--num-cpus=1", "--node-ip-address=127.0.0.1",
                           "--disable-usage-stats", f"--temp-dir={temp_dir}"],
                          env=_env(), timeout=HANG_S, capture_output=True, text=True)
    assert done.returncode == 0, f"ray start {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"


def _raylets(temp_dir: str) -> list[int]:
    import psutil

    out = []
    for pid in processes_mentioning(temp_dir):
        try:
            if psutil.Process(pid).name() == "raylet":
                out.append(pid)
        except psutil.Error:
            pass
    return out


def test_search_on_two_loopback_nodes(search_setup, tmp_path) -> None:
    # The driver is a `nasvl search --address` process, as a user runs it: Ray keeps its auth mode
    # per process, so this test never joins a cluster from the pytest process itself.
    temp_dir = tempfile.mkdtemp(prefix="nvr", dir="/tmp")
    port = free_port()
    seen: dict[int, int] = {}  # trial worker pid -> raylet pid (its node)
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for raylet in _raylets(temp_dir):
                for proc in trial_workers(raylet):
                    seen.setdefault(proc.pid, raylet)
            stop.wait(0.3)

    watcher = threading.Thread(target=watch, daemon=True)
    try:
        _ray_start("--head", f"--port={port}", "--include-dashboard=false", temp_dir=temp_dir)
        _ray_start(f"--address=127.0.0.1:{port}", temp_dir=temp_dir)
        watcher.start()
        config = search_setup.config("twonode", strategy="random", options="{budget: 6}", parallel=2, max_frames=12)
        run_dir = tmp_path / "run"
        done = subprocess.run([sys.executable, "-m", "nasvl.cli", "search", str(config), "--supernet",
                               str(search_setup.ckpt), "--out", str(run_dir), "--address", f"127.0.0.1:{port}"],
                              env=_env(), capture_output=True, text=True, timeout=HANG_S)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
        records = load_records(run_dir)
        assert len(records.completed) == 6 and not records.failed and records.reruns() == 0
        pids = {line["pid"] for line in records.audit()}
        nodes_used = {seen[pid] for pid in pids if pid in seen}
        print(f"two nodes: evaluations ran in worker pids {sorted(pids)} on {len(nodes_used)} node(s) "
              f"(raylets {sorted(set(seen.values()))})")
        # One CPU per node and two trials in parallel: both nodes must have evaluated candidates.
        assert len(pids) >= 2
        assert len(nodes_used) == 2
    finally:
        stop.set()
        kill_pids(processes_mentioning(temp_dir))  # our cluster only (never `ray stop`: it kills all Ray)
        shutil.rmtree(temp_dir, ignore_errors=True)
