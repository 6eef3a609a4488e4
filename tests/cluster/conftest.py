"""A real multi-host Ray cluster on this machine (see hosts.py), and a miniature quickstart for it.

Three hosts: host0 is the head (`--num-cpus=0`, so every task lands elsewhere, and the driver runs
there from its own working directory), host1 and host2 are workers with one CPU each. The job file
lives outside the repository and names its space relative to itself.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.hosts import Cluster, HostsUnavailable
from tests.conftest import ROOT

BASE_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8",
    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0",
    "PYTHONUNBUFFERED": "1",
}
NASVL = [sys.executable, "-m", "nasvl.cli"]
RAY_BIN = str(Path(sys.executable).with_name("ray"))


def mini_job(name: str = "mini", *, train_steps: int = 12, budget: int = 4) -> str:
    """A shortened quickstart: two Ray Train workers, two trials at a time, every step in seconds."""
    return f"""\
name: {name}
language: {{model: minilm}}
compute: {{train_workers: 2}}
data:
  synth: {{videos: 6, seed: 0, min_frames: 20, max_frames: 24}}
supernet:
  space: spaces/tiny.yaml
  pairs:
    sources: [{{root: "${{data}}/train", format: lasot, lang_mode: template}}]
    pairs_per_epoch: 200
  train: {{steps: {train_steps}, batch_size: 2, threads: 1, checkpoint_every: 4, keep_checkpoints: 0}}
search:
  val: {{root: "${{data}}/val", format: lasot}}
  search:
    strategy: random
    options: {{budget: {budget}}}
    trials_in_parallel: 2
    eval: {{max_frames: 8, recalibration_batches: 1, recalibration_batch_size: 2, latency_repeats: 1, threads: 1}}
export: {{top: 1}}
retrain:
  train: {{steps: 4, batch_size: 2, threads: 1, checkpoint_every: 2}}
evaluate:
  datasets: [{{name: test, root: "${{data}}/test", format: lasot, benchmark: synth, max_videos: 1}}]
"""


def told(run_dir: Path) -> int:
    """Trials the search has recorded a result for (its own state file, read as the search writes it)."""
    try:
        state = json.loads((run_dir / "search" / "search_state.json").read_text())
    except (OSError, ValueError):
        return 0  # not written yet
    return sum(1 for t in state["strategy"]["trials"] if t["result"] is not None)


def write_job(folder: Path, text: str) -> Path:
    """The job file and its space in `folder` (anywhere: not the repository, not the driver's cwd)."""
    (folder / "spaces").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "search_spaces" / "tiny.yaml", folder / "spaces" / "tiny.yaml")
    job = folder / "job.yaml"
    job.write_text(text)
    return job


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    try:
        made = Cluster(3, base_env=BASE_ENV).create()
    except HostsUnavailable as exc:
        pytest.skip(f"cannot emulate hosts here: {exc}")
    try:
        made.start_ray()
        yield made
    finally:
        made.destroy()
