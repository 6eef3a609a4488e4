"""Running a job: steps in order, complete ones skipped, an interrupted one resumed with --resume.

A step is complete when `runs/<job>/<step>/DONE.json` exists (written atomically
last, with the step's outputs and wall time). A step folder without it is an
interrupted step: `--resume` continues it as that step resumes (training from its
newest checkpoint, search through `Tuner.restore`); without `--resume` the job
stops rather than overwrite it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from nasvl.errors import NasvlError
from nasvl.io import atomic_write_json
from nasvl.jobs.spec import JobSpec, data_paths
from nasvl.jobs.steps import STEP_FUNCTIONS, JobContext


def step_status(run_dir: Path, step: str) -> str:
    d = run_dir / step
    if (d / "DONE.json").is_file():
        return "complete"
    return "interrupted" if d.exists() else "pending"


def plan(job: JobSpec, run_dir: Path, console: Console | None = None) -> list[str]:
    """Print the steps with their status and every data path; returns the missing paths."""
    console = console or Console()
    table = Table(title=f"job {job.name} ({job.file}) → {run_dir}")
    for col in ("step", "status", "output"):
        table.add_column(col)
    for step in job.steps:
        table.add_row(step, step_status(run_dir, step), str(run_dir / step))
    console.print(table)
    synth_target = None
    if job.synth is not None:
        synth_target = str(Path(job.synth.out) if job.synth.out else run_dir / "data" / "synth")
    missing = []
    for where, path in data_paths(job):
        generated = synth_target is not None and path.startswith(synth_target)
        if generated or Path(path).exists():
            console.print(f"  {where}: {path} " + ("(written by the data step)" if generated else "[green]ok"))
        else:
            missing.append(f"{where}: {path}")
            console.print(f"  [red]{where}: {path} does not exist")
    return missing


def run_job(job: JobSpec, run_dir: str | Path, *, resume: bool = False, address: str | None = None,
            workers: int = 1, console: Console | None = None) -> dict[str, Any]:
    run_dir = Path(run_dir)
    ctx = JobContext(job, run_dir, address, workers, console or Console())
    timings: dict[str, float] = {}
    for step in job.steps:
        status = step_status(run_dir, step)
        if status == "complete":
            ctx.console.print(f"[dim]step {step}: complete, skipped[/dim]")
            continue
        if status == "interrupted" and not resume:
            raise NasvlError(f"{run_dir / step} holds an interrupted '{step}' step; rerun with --resume to "
                             "continue it (outputs are never overwritten silently)")
        ctx.console.rule(f"[bold]{job.name}: {step}")
        (run_dir / step).mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        outputs = STEP_FUNCTIONS[step](ctx, resume and status == "interrupted")
        timings[step] = time.perf_counter() - started
        atomic_write_json(run_dir / step / "DONE.json",
                          {"step": step, "seconds": timings[step], "outputs": outputs}, sort_keys=False)
    return {"timings": timings, "run_dir": str(run_dir)}
