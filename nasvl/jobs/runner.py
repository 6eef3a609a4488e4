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
from nasvl.io import RunFolder, atomic_write_json, disk_error
from nasvl.jobs.check import generated
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
    missing = []
    for where, path in data_paths(job):
        if generated(job, path) or Path(path).exists():
            console.print(f"  {where}: {path} " + ("(written by the data step)" if generated(job, path) else "[green]ok"))
        else:
            missing.append(f"{where}: {path}")
            console.print(f"  [red]{where}: {path} does not exist")
    return missing


def run_job(job: JobSpec, run_dir: str | Path, *, resume: bool = False, address: str | None = None,
            workers: int = 1, console: Console | None = None) -> dict[str, Any]:
    """Run the job's steps in `run_dir`, holding its lock: a second run on the same folder is refused."""
    folder = RunFolder(run_dir)
    with folder.lock():
        return _run_steps(job, folder, resume=resume, address=address, workers=workers,
                          console=console or Console())


def _run_steps(job: JobSpec, folder: RunFolder, *, resume: bool, address: str | None, workers: int,
               console: Console) -> dict[str, Any]:
    run_dir = folder.root
    ctx = JobContext(job, run_dir, address, workers, console)
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
        step_dir = folder.path(step)
        created = not step_dir.exists()
        step_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        try:
            outputs = STEP_FUNCTIONS[step](ctx, resume and status == "interrupted")
        except NasvlError:
            # A step refused before writing anything is not interrupted: leave it pending, so a
            # plain rerun (after fixing the job) starts it instead of demanding --resume.
            if created and step_dir.is_dir() and not any(step_dir.iterdir()):
                step_dir.rmdir()
            raise
        except OSError as exc:  # a full disk or a size limit inside a step: name the step's folder
            raise disk_error(exc, exc.filename or step_dir) from None
        timings[step] = time.perf_counter() - started
        atomic_write_json(folder.path(step, "DONE.json"),
                          {"step": step, "seconds": timings[step], "outputs": outputs}, sort_keys=False)
    return {"timings": timings, "run_dir": str(run_dir)}
