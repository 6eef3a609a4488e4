from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasvl.cli import main
from nasvl.config import load_yaml_text
from nasvl.errors import ConfigError, NasvlError
from nasvl.jobs import parse_job, run_job
from tests.bounds import HANG_S
from tests.conftest import ROOT

JOBS = ROOT / "jobs"


def _job(text: str):
    return parse_job(load_yaml_text(text, "job.yaml"))


def mini_job(data_out: Path, name: str = "mini") -> str:
    """A miniature quickstart: every step, seconds each."""
    return f"""\
name: {name}
language: {{model: minilm}}
data:
  synth: {{videos: 6, seed: 0, min_frames: 20, max_frames: 24, out: {data_out}}}
supernet:
  space: {ROOT}/search_spaces/tiny.yaml
  pairs:
    sources: [{{root: "${{data}}/train", format: lasot, lang_mode: template}}]
    pairs_per_epoch: 200
  train: {{steps: 40, batch_size: 2, threads: 1, checkpoint_every: 10}}
search:
  val: {{root: "${{data}}/val", format: lasot}}
  search:
    strategy: random
    options: {{budget: 3}}
    eval: {{max_frames: 10, recalibration_batches: 1, recalibration_batch_size: 2, latency_repeats: 1, threads: 1}}
export: {{top: 1}}
retrain:
  train: {{steps: 4, batch_size: 2, threads: 1, checkpoint_every: 2}}
evaluate:
  datasets: [{{name: test, root: "${{data}}/test", format: lasot, benchmark: synth}}]
"""


def test_shipped_jobs_validate() -> None:
    for path in sorted(JOBS.glob("*.yaml")):
        assert main(["run", str(path), "--dry-run"]) == 0, path


def test_paper_dry_run_reports_missing_paths(capsys) -> None:
    assert main(["run", str(JOBS / "vlt_scar_lasot.yaml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "/data/LaSOT does not exist" in out and "valid" in out
    assert "supernet" in out and "retrain" in out and "evaluate" in out


@pytest.mark.parametrize("edit,message", [
    ("name: mini\n", "job.yaml:2: trian: unknown key 'trian'"),
    ("{name: test, root:", "unknown variable ${date}"),
    ("strategy: random", "search.search.strategy: unknown strategy 'randum'"),
    ("export: {top: 1}\n", "step 'retrain' needs a 'export' step before it"),
    ("train: {steps: 40,", "supernet.train.steps: must be >= 1"),
])
def test_job_errors_are_located(tmp_path, edit, message) -> None:
    text = mini_job(tmp_path / "d")
    replacement = {
        "name: mini\n": "name: mini\ntrian: {}\n",
        "{name: test, root:": "{name: test, root: \"${date}/x\", format: lasot}]\n  other: [{name: t2, root:",
        "strategy: random": "strategy: randum",
        "export: {top: 1}\n": "",
        "train: {steps: 40,": "train: {steps: 0,",
    }[edit]
    with pytest.raises(ConfigError, match=message.replace("$", r"\$").replace("{", r"\{").replace("}", r"\}")):
        _job(text.replace(edit, replacement, 1))


def test_interrupted_step_needs_resume(tmp_path) -> None:
    job = _job(mini_job(tmp_path / "d"))
    (tmp_path / "run" / "data").mkdir(parents=True)
    with pytest.raises(NasvlError, match="holds an interrupted 'data' step; rerun with --resume"):
        run_job(job, tmp_path / "run")


@pytest.mark.slow
@pytest.mark.ray
def test_job_runs_end_to_end_and_resumes_after_a_kill(tmp_path) -> None:
    job_file = tmp_path / "mini.yaml"
    job_file.write_text(mini_job(tmp_path / "runs" / "data"))
    cmd = [sys.executable, "-m", "nasvl.cli", "run", str(job_file), "--runs", str(tmp_path / "runs")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run_dir = tmp_path / "runs" / "mini"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + HANG_S  # a bound for a hang, not a timing: the kill waits for the event
    while not (run_dir / "supernet" / "checkpoints").exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the supernet step never wrote a checkpoint"
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # killed inside the supernet step
    proc.wait()
    data_done = json.loads((run_dir / "data" / "DONE.json").read_text())
    assert not (run_dir / "supernet" / "DONE.json").exists()
    mtime = (run_dir / "data" / "DONE.json").stat().st_mtime
    out = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=HANG_S)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (run_dir / "data" / "DONE.json").stat().st_mtime == mtime  # not redone
    assert json.loads((run_dir / "data" / "DONE.json").read_text()) == data_done
    assert "step data: complete, skipped" in out.stdout
    for step in ("supernet", "search", "export", "retrain", "evaluate"):
        assert (run_dir / step / "DONE.json").is_file(), step
    assert "first-box" in out.stdout and "searched architecture" in out.stdout
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=HANG_S)
    assert again.returncode == 0 and "all steps were already complete" in again.stdout


def test_data_the_job_writes_itself_is_not_missing(tmp_path, monkeypatch) -> None:
    """`make demo` on a fresh machine: the data step's own output is not a missing path, whether the
    runs folder is given relative (the default `runs`) or absolute."""
    from nasvl.config import load_yaml
    from nasvl.jobs.check import missing_data
    from nasvl.jobs.spec import parse_job

    monkeypatch.chdir(tmp_path)
    for runs in ("runs", tmp_path / "runs"):
        job = parse_job(load_yaml(JOBS / "quickstart.yaml"), runs)
        assert missing_data(job) == []
