"""The steps of a job. Each reads what earlier steps wrote under runs/<job>/ and returns its outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from nasvl.config.paths import resolve_path
from nasvl.errors import NasvlError
from nasvl.io import contained
from nasvl.jobs.spec import JobSpec
from nasvl.train.checkpoint import latest_checkpoint

T = TypeVar("T")


def required(value: T | None, what: str) -> T:
    """A job section the running step needs; the job's parser guarantees it (a step runs only when
    its section is present), so None here is a bug, reported as one."""
    if value is None:
        raise NasvlError(f"internal error: the job has no {what} section, yet its step runs")
    return value


@dataclass
class JobContext:
    job: JobSpec
    run_dir: Path
    address: str | None = None
    workers: int = 1
    console: Console = field(default_factory=Console)

    def step_dir(self, step: str, *parts: str) -> Path:
        """A path under the run folder; names from the job (datasets) cannot lead out of it."""
        return contained(self.run_dir, Path(step, *parts))


def run_data(ctx: JobContext, resume: bool) -> dict[str, Any]:
    from nasvl.data.synth import SynthConfig, generate

    job = ctx.job
    out: dict[str, Any] = {"roots": job.roots}
    missing = [(k, v) for k, v in job.roots.items() if not Path(v).exists()]
    if missing:
        raise NasvlError("dataset roots not found: " + ", ".join(f"{k}={v}" for k, v in missing))
    if job.synth is not None:
        s = job.synth
        target = Path(s.out) if s.out else ctx.step_dir("data", "synth")
        if (target / "manifest.json").is_file():
            ctx.console.print(f"synthetic benchmark already at {target}")
        else:
            base = SynthConfig()
            cfg = SynthConfig(**{**base.__dict__, **{k: v for k, v in (("min_frames", s.min_frames),
                                                                       ("max_frames", s.max_frames))
                                                     if v is not None}})
            generate(target, videos=s.videos, seed=s.seed, config=cfg, overwrite=resume)
        out["synth"] = str(target)
    return out


def run_supernet(ctx: JobContext, resume: bool) -> dict[str, Any]:
    from nasvl.train import run_training

    out = ctx.step_dir("supernet")
    summary = run_training(required(ctx.job.supernet, "supernet"), out, phase="supernet", workers=ctx.workers,
                           address=ctx.address, resume=resume, use_gpu=ctx.job.compute.gpu)
    ckpt = latest_checkpoint(out / "checkpoints")
    return {"checkpoint": str(ckpt), "mean_loss_first": summary.get("mean_first"),
            "mean_loss_last": summary.get("mean_last")}


def _done(ctx: JobContext, step: str) -> dict[str, Any]:
    return json.loads((ctx.step_dir(step) / "DONE.json").read_text())["outputs"]


def run_search(ctx: JobContext, resume: bool) -> dict[str, Any]:
    from nasvl.search.run import run_search as search

    ckpt = _done(ctx, "supernet")["checkpoint"]
    return search(required(ctx.job.search, "search"), ckpt, ctx.step_dir("search"), address=ctx.address,
                  resume=resume and (ctx.step_dir("search") / "tune").exists())


def run_export(ctx: JobContext, resume: bool) -> dict[str, Any]:
    spec = required(ctx.job.export, "export")
    target = ctx.step_dir("export", "best")
    if spec.fixed_op is not None:
        return {"exports": [str(_export_fixed(ctx, spec.fixed_op, target))]}
    from nasvl.search.export import export_records

    paths = export_records(ctx.step_dir("search"), target, top=spec.top)
    return {"exports": [str(p) for p in paths]}


def _export_fixed(ctx: JobContext, op: str, target: Path) -> Path:
    """A hand-fixed architecture with fresh weights: the no-search arm of an ablation."""
    from nasvl.export import save_subnet
    from nasvl.space import load_space
    from nasvl.supernet import Subnet

    spec = required(ctx.job.export, "export")
    space = load_space(resolve_path(spec.space, ctx.job.file)) if spec.space else ctx.job.space()
    arch = space.arch({b.path: (op if op in b.options else b.options[0]) for b in space.free_blocks})
    return save_subnet(Subnet(space, arch), target, extra={"fixed_op": op})


def run_retrain(ctx: JobContext, resume: bool) -> dict[str, Any]:
    from nasvl.train import run_training

    export_dir = _done(ctx, "export")["exports"][0]
    out = ctx.step_dir("retrain")
    run_training(required(ctx.job.retrain, "retrain"), out, phase="retrain", export_dir=export_dir,
                 workers=ctx.workers, address=ctx.address, resume=resume, use_gpu=ctx.job.compute.gpu)
    return {"export": str(out / "export")}


def run_baseline(ctx: JobContext, resume: bool) -> dict[str, Any]:
    """Vision-only tracker with the searched backbone: same layers, no mixers, trained from scratch."""
    from nasvl.export import load_subnet, save_subnet
    from nasvl.space import load_space
    from nasvl.supernet import Subnet
    from nasvl.train import run_training

    spec = required(ctx.job.baseline, "baseline")
    searched = load_subnet(_done(ctx, "export")["exports"][0])
    space = load_space(resolve_path(required(spec.space, "baseline.space"), spec.file))
    chosen = searched.space.resolve(searched.arch)
    missing = [b.path for b in space.free_blocks if b.path not in chosen]
    if missing:
        raise NasvlError(f"baseline space {space.name!r} has blocks the searched space lacks: {missing[:4]}")
    arch = space.arch({b.path: chosen[b.path] for b in space.free_blocks})
    init = ctx.step_dir("baseline", "init")
    if not (init / "manifest.json").is_file():
        save_subnet(Subnet(space, arch), init, extra={"baseline_of": str(searched.arch.key)})
    out = ctx.step_dir("baseline")
    run_training(spec, out, phase="retrain", export_dir=str(init), workers=ctx.workers,
                 address=ctx.address, resume=resume, use_gpu=ctx.job.compute.gpu)
    return {"export": str(out / "export")}


def _trackers(ctx: JobContext) -> dict[str, str]:
    out: dict[str, str] = {}
    if ctx.job.retrain is not None:
        out["nasvl"] = _done(ctx, "retrain")["export"]
    else:
        out["nasvl"] = _done(ctx, "export")["exports"][0]
    if ctx.job.baseline is not None:
        out["vision-only"] = _done(ctx, "baseline")["export"]
    return out


def run_evaluate(ctx: JobContext, resume: bool) -> dict[str, Any]:
    from nasvl.jobs.evaluate import evaluate_exports
    from nasvl.metrics.plots import plot_attributes, plot_curves

    ev = required(ctx.job.evaluate, "evaluate")
    lang = required(ctx.job.supernet or ctx.job.retrain, "supernet or retrain").language
    outputs: dict[str, Any] = {"datasets": {}}
    for ds in ev.datasets:
        folder = ctx.step_dir("evaluate", ds.name)
        evaluation = evaluate_exports(_trackers(ctx), ds, folder, job_file=ctx.job.file, language=lang,
                                      device=ev.device, use_language=ev.use_language,
                                      language_fallback=ev.language_fallback,
                                      first_box=ev.first_box, language_modes=ev.language_modes,
                                      runtime=ev.runtime)
        report = evaluation["trackers"]
        plots = [str(p) for p in plot_curves(report, folder / "plots", title=ds.name)]
        attr = plot_attributes(report, folder / "plots" / "attributes.png", title=ds.name)
        if attr is not None:
            plots.append(str(attr))
        outputs["datasets"][ds.name] = {
            "overall": {t: {k: report[t]["overall"][k] for k in ("suc", "suc_ci", "n_videos", "prec", "norm_prec")}
                        for t in report},
            "language_sensitivity": _sensitivity_summary(evaluation["language_sensitivity"]),
            "plots": plots, "report": str(folder / "report.json")}
    return outputs


def _sensitivity_summary(sensitivity: dict[str, Any]) -> dict[str, Any]:
    """Per VL tracker: SUC [CI] per mode and each mode's overall difference from correct (the rest
    is in report.json)."""
    out: dict[str, Any] = {}
    for name, sens in sensitivity.items():
        if "skipped" in sens:
            out[name] = sens
            continue
        out[name] = {mode: {"suc": m["overall"]["suc"], "suc_ci": m["overall"]["suc_ci"],
                            **({"diff_vs_correct": m["diff_vs_correct"]["overall"]} if "diff_vs_correct" in m else {})}
                     for mode, m in sens["modes"].items()}
    return out


def run_fidelity(ctx: JobContext, resume: bool) -> dict[str, Any]:
    from nasvl.search.fidelity import fidelity_step  # the step's body lives with the command

    return fidelity_step(ctx, resume)


STEP_FUNCTIONS = {"data": run_data, "supernet": run_supernet, "search": run_search, "fidelity": run_fidelity,
                  "export": run_export,
                  "retrain": run_retrain, "baseline": run_baseline, "evaluate": run_evaluate}
