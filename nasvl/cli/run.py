"""`nasvl run JOB.yaml [--address ADDR] [--resume] [--dry-run]`: the whole pipeline, step by step."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rich.console import Console

from nasvl.cluster import init_ray, is_local
from nasvl.errors import NasvlError
from nasvl.io import writable_folder
from nasvl.jobs import load_job, plan, run_job
from nasvl.jobs.check import check_job, job_preflight, machine_problems
from nasvl.train.run import check_workers


def _summary(console: Console, run_dir: Path) -> None:
    """The searched architecture and the plots, after the evaluation table."""
    export = run_dir / "export" / "best"
    if (export / "arch.yaml").is_file():
        console.rule("searched architecture")
        console.print((export / "arch.yaml").read_text().strip())
        if (export / "cand.json").is_file():
            console.print(f"official CAND: {json.loads((export / 'cand.json').read_text())['CAND']}")
    done = run_dir / "evaluate" / "DONE.json"
    if done.is_file():
        outputs = json.loads(done.read_text())["outputs"]
        console.rule("plots")
        for ds in outputs["datasets"].values():
            for p in ds["plots"]:
                console.print(p)


def _run(args: argparse.Namespace) -> int:
    runs = Path(args.runs)
    if runs.exists() and not runs.is_dir():
        raise NasvlError(f"--runs {runs}: is a file, not a folder")
    if args.workers is not None:
        check_workers(args.workers)
    from nasvl.config import load_yaml

    if "ablation" in (load_yaml(args.job).data or {}):
        return _run_ablation(args, runs)
    job = load_job(args.job, runs)
    run_dir = Path(job.run_dir)
    console = Console()
    check_job(job, workers=args.workers)  # everything checkable without training, before any step
    problems = machine_problems(job, workers=args.workers, address=args.address)
    if args.dry_run:
        plan(job, run_dir, console)
        for p in problems:
            console.print(f"  [yellow]needs: {p}")
        console.print(f"[bold]{args.job}: valid[/bold]; {len(problems)} thing(s) this machine lacks "
                      "(data path(s) missing or resources)")
        return 0
    plan(job, run_dir, console)
    if problems:
        raise NasvlError(f"{args.job}: cannot start: " + "; ".join(problems))
    writable_folder(runs, "--runs folder")
    if os.environ.get("RAY_JOB_CONFIG_JSON_ENV_VAR"):
        # A `ray job submit` driver runs in Ray's unpacked copy of --working-dir, which Ray deletes
        # while the job still runs (once the Ray Train step's runtime env is released). Every path
        # is absolute by now, so the driver works from the runs folder instead.
        os.chdir(Path(job.run_dir).parent)
    workers = args.workers if args.workers is not None else job.compute.train_workers
    if not is_local(args.address):  # a cluster: every node must see the run folder, data and model
        init_ray(args.address)
        job_preflight(job, run_dir)
    result = run_job(job, run_dir, resume=args.resume, address=args.address, workers=workers, console=console)
    if (run_dir / "evaluate" / "DONE.json").is_file():
        from nasvl.jobs.evaluate import print_evaluation

        for ds, info in json.loads((run_dir / "evaluate" / "DONE.json").read_text())["outputs"]["datasets"].items():
            evaluation = json.loads(Path(info["report"]).read_text())
            print_evaluation(evaluation, title=f"{job.name} — {ds}", console=console)
    _summary(console, run_dir)
    times = ", ".join(f"{k} {v:.0f}s" for k, v in result["timings"].items())
    console.print(f"[bold]job {job.name} done[/bold] ({times or 'all steps were already complete'})")
    return 0


def _run_ablation(args: argparse.Namespace, runs: Path) -> int:
    from nasvl.jobs.ablation import load_ablation, run_ablation

    ablation = load_ablation(args.job, runs)
    console = Console()
    for _, job in ablation.variants:
        if job is not None:
            check_job(job)
    for variant, job in ablation.variants:
        what = f"reuses {variant.reuse}" if job is None else " → ".join(job.steps)
        console.print(f"variant [bold]{variant.name}[/bold]: {what}")
    if args.dry_run:
        console.print(f"[bold]{args.job}: valid[/bold] ({len(ablation.variants)} variants)")
        return 0
    problems = sorted({p for _, job in ablation.variants if job is not None
                       for p in machine_problems(job, address=args.address)})
    if problems:
        raise NasvlError(f"{args.job}: cannot start: " + "; ".join(problems))
    writable_folder(runs, "--runs folder")
    run_ablation(ablation, runs, resume=args.resume, address=args.address, console=console)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="run a job: data → supernet → search → export → retrain → evaluate")
    p.add_argument("job", help="job YAML (see jobs/)")
    p.add_argument("--address", default=None, help="Ray cluster address (auto or HOST:PORT); default local")
    p.add_argument("--resume", action="store_true", help="continue an interrupted step")
    p.add_argument("--dry-run", action="store_true", help="validate the job and print the plan")
    p.add_argument("--workers", type=int, default=None,
                   help="Ray Train workers for the training steps (default: the job's compute.train_workers)")
    p.add_argument("--runs", default="runs", help="folder that holds runs/<job>/")
    p.set_defaults(handler=_run)
