"""Everything about a job that can be checked without training, checked before any step starts.

`nasvl run --dry-run` and a plain `nasvl run` both call `check_job`: a job the dry run calls valid
must not fail later on something that could have been checked here (a missing space file, strategy
options the strategy refuses, crops that do not match the space, more workers than the machine
has). Errors are located in the job file. Data roots are the one exception the dry run only
reports: datasets often live on the cluster, not where the job is written; `nasvl run` refuses them
before the first step.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from nasvl.cluster.preflight import preflight
from nasvl.config import Node
from nasvl.config.paths import resolve_path
from nasvl.errors import ConfigError, NasvlError
from nasvl.io import contained
from nasvl.jobs.spec import JobSpec, data_paths
from nasvl.jobs.steps import required
from nasvl.space import SearchSpace, load_space
from nasvl.train.config import fit_pairs
from nasvl.train.run import check_workers, local_resources, resource_shortfall


def _node(job: JobSpec, *path: Any) -> Node:
    assert job.doc is not None, "check_job needs a job parsed from a document"
    node = job.doc.root
    for key in path:
        node = node.get(key) if isinstance(key, str) else node.child(key)
    return node


def _space(job: JobSpec, step: str, path: str) -> SearchSpace:
    resolved = resolve_path(path, job.file)
    if not resolved.is_file():
        raise _node(job, step, "space").error(f"space file {path} not found (looked for {resolved})")
    return load_space(resolved)


def check_job(job: JobSpec, *, workers: int | None = None) -> dict[str, SearchSpace]:
    """Raise a located error for anything wrong that needs no training; returns the parsed spaces."""
    spaces: dict[str, SearchSpace] = {}
    for step in ("supernet", "baseline"):
        spec = getattr(job, step)
        if spec is not None and spec.space is not None:
            space = spaces[step] = _space(job, step, spec.space)
            if space.tracker is None:
                raise _node(job, step, "space").error(
                    f"space {space.name!r} has no tracker section: a tracker to train needs one")
            try:
                fit_pairs(spec.pairs, space.input_size("template"), space.input_size("search"), job.file)
            except ConfigError as exc:
                raise _node(job, step, "pairs").error(exc.rule) from None
    if job.export is not None and job.export.space is not None:
        spaces["export"] = _space(job, "export", job.export.space)
    if job.search is not None:
        _check_strategy(job, spaces["supernet"])
    _check_outside_writes(job)
    if workers is not None:
        check_workers(workers, flag="--workers")
    for path, device in _devices(job):
        _device(job, path, device)
    return spaces


def _check_strategy(job: JobSpec, space: SearchSpace) -> None:
    """Build every strategy the search may run (its own, and those `--strategy` can pick from
    `strategy_options`) as the search will, so bad options fail now, not after the supernet trained."""
    from nasvl.search.strategy import build_strategy

    s = required(job.search, "search").search
    runs = [(s.strategy, dict(s.options), ("search", "search", "options"))]
    runs += [(name, dict(opts), ("search", "search", "strategy_options", name))
             for name, opts in s.strategy_options.items()]
    for name, options, at in runs:
        if "storage" in options:  # a validation builds no study: keep it in memory, write nothing
            options["storage"] = "memory"
        where = _node(job, *at)
        try:
            strategy = build_strategy(name, space, s.seed, run_dir=None, objectives=s.objectives, **options)
        except ConfigError as exc:
            inner = f"{exc.path}: {exc.rule}" if exc.path else exc.rule
            raise where.error(f"strategy {name!r} refuses these options: {inner}") from None
        except (NasvlError, TypeError, ValueError) as exc:
            raise where.error(f"strategy {name!r} refuses these options: {exc}") from None
        strategy.close()


def _check_outside_writes(job: JobSpec) -> None:
    """The two job values that name a place to write stay inside the runs folder (`--runs`).

    `data.synth.out` may point beside the job (data shared by several jobs, as the ablation does)
    and an Optuna SQLite file may live anywhere in the runs folder, but a job from someone else
    must not write the synthetic benchmark or a database over `~/.bashrc`.
    """
    runs = Path(job.run_dir).parent
    targets = []
    if job.synth is not None and job.synth.out:
        targets.append((_node(job, "data", "synth", "out"), job.synth.out))
    if job.search is not None:
        storage = job.search.search.options.get("storage")
        if isinstance(storage, str) and storage.startswith("sqlite:///"):
            targets.append((_node(job, "search", "search", "options", "storage"), storage[len("sqlite:///"):]))
    for node, target in targets:
        try:
            contained(runs, Path(target).absolute())
        except NasvlError:
            raise node.error(f"{ascii(target)} is outside the runs folder {runs}; every write of a job "
                             "stays inside it (choose a path under --runs)") from None


def _devices(job: JobSpec) -> list[tuple[tuple[str, ...], str]]:
    out = [((step, "train", "device"), getattr(job, step).train.device)
           for step in ("supernet", "retrain", "baseline") if getattr(job, step) is not None]
    if job.search is not None:
        out.append((("search", "search", "eval", "device"), job.search.search.eval.device))
    if job.evaluate is not None:
        out.append((("evaluate", "device"), job.evaluate.device))
    return out


def _device(job: JobSpec, path: tuple[str, ...], device: str) -> Any:
    import torch

    try:
        return torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise _node(job, *path).error(f"{device!r} is not a torch device (cpu, cuda, cuda:N)") from None


def machine_problems(job: JobSpec, *, workers: int | None = None, address: str | None = None) -> list[str]:
    """What this machine lacks for the job: missing data, too few CPUs or GPUs for a local Ray runtime.

    The dry run lists these (a paper-scale job is often written on a laptop for a cluster);
    `nasvl run` refuses to start while any remains. A cluster is checked when Ray connects.
    """
    problems = [f"{m} does not exist" for m in missing_data(job)]
    if address is not None or os.environ.get("RAY_ADDRESS"):
        return problems
    available = local_resources()
    workers = workers if workers is not None else job.compute.train_workers
    trains = [s for s in ("supernet", "retrain", "baseline") if getattr(job, s) is not None]
    needs: list[tuple[str, float, float]] = []
    if trains and workers > 1:
        needs.append((f"compute.train_workers: {workers} Ray Train workers", workers,
                      workers if job.compute.gpu else 0))
    if job.search is not None:
        s = job.search.search
        needs.append(("search.search: one trial", s.cpus_per_trial, s.gpus_per_trial))
    for path, device in _devices(job):
        parsed = _device(job, path, device)
        if parsed.type == "cuda":
            needs.append((f"{'.'.join(path)}: {device!r}", 0, (parsed.index or 0) + 1))
    problems += [short for what, cpus, gpus in needs
                 if (short := resource_shortfall(what, cpus=cpus, gpus=gpus, available=available,
                                                    where="this machine (a local Ray runtime)"))]
    return problems


def synth_target(job: JobSpec) -> str | None:
    """Where the data step writes the synthetic benchmark (None: the job has none)."""
    if job.synth is None:
        return None
    return str(Path(job.synth.out) if job.synth.out else Path(job.run_dir) / "data" / "synth")


def generated(job: JobSpec, path: str) -> bool:
    """`path` lies in what the data step will write (compared resolved: one side may be relative)."""
    target = synth_target(job)
    if target is None:
        return False
    root, inside = Path(target).resolve(), Path(path).resolve()
    return inside == root or root in inside.parents


def missing_data(job: JobSpec) -> list[str]:
    """Data paths that neither exist nor will be written by the job's data step."""
    return [f"{where}: {path}" for where, path in data_paths(job) if not generated(job, path) and not Path(path).exists()]


def job_preflight(job: JobSpec, run_dir: Path) -> None:
    """`preflight` for a job: its data roots (those that exist already; the data step writes the others)."""
    roots = [(where, path) for where, path in data_paths(job) if not generated(job, path)]
    lang = next((s.language for s in (job.supernet, job.search, job.retrain) if s is not None), None)
    preflight(run_dir, roots=roots, model=lang.model if lang is not None else None)
