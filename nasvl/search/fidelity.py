"""Ranking fidelity of a finished search: does the supernet score rank architectures like their own training?

`nasvl search fidelity RUN_DIR --k K --train-steps N [--from scratch|inherited]`:

1. picks K completed architectures spread evenly over the search's score range (sorted by the
   supernet score, both ends included);
2. trains each stand-alone with the same budget (the retrain phase of `nasvl.train`, from a fresh
   init or from the supernet's weights, as exported by `save_subnet`) on the search's training pairs;
3. scores each trained subnet with the search's evaluator on the same validation videos and frames
   (no BN recalibration: a trained subnet has its own statistics);
4. reports Kendall's τ and Spearman's ρ with bootstrap CIs (`nasvl.search.ranking`), a scatter
   plot and `fidelity.json`.

The K trainings run as Ray tasks in parallel. Layout (default ``RUN_DIR/fidelity``)::

    plan.json                   the chosen architectures and the budget (fixed by the first start)
    NN_<archkey>/init/          the export training starts from
    NN_<archkey>/train/         the retrain run (checkpoints: a killed training resumes from them)
    NN_<archkey>/result.json    the stand-alone score, written atomically when done
    fidelity.json, fidelity.png

Resumable: a rerun skips every architecture with a `result.json` and resumes unfinished trainings.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Literal

from nasvl.config import YamlDoc, parse_dataclass
from nasvl.config.limits import EXPORT_TOP
from nasvl.errors import NasvlError
from nasvl.io import atomic_write_json
from nasvl.search.ranking import bootstrap, kendall_tau, spearman_rho, spread_indices
from nasvl.search.records import Records, full_score_records, load_records, read_json_file
from nasvl.search.tune import EvalSetup

Init = Literal["scratch", "inherited"]
PLAN_VERSION = 1


def choose(records: Records, k: int) -> list[dict[str, Any]]:
    """K completed architectures evenly spread over the (full-fidelity) supernet score range."""
    done = sorted(full_score_records(records), key=lambda r: (r.result.suc, r.nasvl_trial))  # type: ignore[union-attr]
    if len(done) < 2:
        raise NasvlError(f"{records.run_dir}: ranking fidelity needs at least 2 completed architectures scored on "
                         f"the full validation set, the search has {len(done)}")
    if k < 2:
        raise NasvlError(f"--k must be >= 2 (a rank correlation needs two architectures), got {k}")
    EXPORT_TOP.check(k, path="--k")  # each of the K is exported and trained
    return [{"trial": done[i].nasvl_trial, "arch": done[i].arch, "supernet_suc": done[i].result.suc}  # type: ignore[union-attr]
            for i in spread_indices(len(done), k)]


def _plan(records: Records, out: Path, k: int, train_steps: int, init: Init) -> dict[str, Any]:
    path = out / "plan.json"
    wanted = {"k": k, "train_steps": train_steps, "init": init}
    if path.exists():
        plan = read_json_file(path, "the fidelity plan")
        if not isinstance(plan, dict) or plan.get("version") != PLAN_VERSION or \
                not isinstance(plan.get("archs"), list) or not all(_plan_item(i) for i in plan["archs"]):
            raise NasvlError(f"{path}: not a nasvl fidelity plan (remove it to plan again)")
        had = {key: plan.get(key) for key in wanted}
        if had != wanted:
            raise NasvlError(f"{path}: this fidelity run was started with {had}, not {wanted}; rerun with the same "
                             "options to resume it, or pass another --out")
        return plan
    plan = {"version": PLAN_VERSION, **wanted, "archs": choose(records, k)}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, plan, sort_keys=False)
    return plan


def _plan_item(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("trial"), str) and isinstance(item.get("arch"), dict) \
        and isinstance(item.get("supernet_suc"), int | float) and not isinstance(item.get("supernet_suc"), bool)


def _train_spec(search_spec: Any, train_steps: int, init: Init, threads: int) -> Any:
    """The retrain spec every architecture gets: same pairs, language and budget (bounds checked)."""
    from nasvl.train.config import TrainConfig, TrainSpec

    if search_spec.pairs is None:
        raise NasvlError("ranking fidelity trains on the search's training pairs, and its config has no 'pairs'")
    doc = YamlDoc({"steps": train_steps, "init": init, "threads": threads, "checkpoint_every": max(1, train_steps // 4),
                   "keep_checkpoints": 1, "log_every": max(1, train_steps // 10)}, "fidelity --train-steps")
    cfg = parse_dataclass(TrainConfig, doc.root)
    return TrainSpec("fidelity", None, search_spec.pairs, search_spec.language, cfg, search_spec.file)


def train_and_score(setup: EvalSetup, item: dict[str, Any], train_spec: Any, folder: str) -> dict[str, Any]:
    """One architecture: export its starting weights, train it, score it; `result.json` marks it done."""
    import torch

    from nasvl.export import load_subnet, save_subnet
    from nasvl.search.evaluator import Evaluator, recalibrate_on_pairs
    from nasvl.space import parse_space_dict
    from nasvl.supernet import Subnet, build_supernet
    from nasvl.train import run_training

    if train_spec.train.threads:
        torch.set_num_threads(train_spec.train.threads)
    root = Path(folder)
    space = parse_space_dict(setup.space_raw)
    arch = space.arch(item["arch"])
    init, train = root / "init", root / "train"
    if not (init / "manifest.json").is_file():
        if train_spec.train.init == "inherited":  # the supernet's weights, BN recalibrated as export does
            net = build_supernet(space)
            net.load_state_dict(setup.weights)
            recalibrate_on_pairs(net, arch, setup.recal_batches, torch.device("cpu"))
            subnet = net.extract(arch).eval()
        else:
            subnet = Subnet(space, arch)
        save_subnet(subnet, init, extra={"fidelity_of": item["trial"], "init": train_spec.train.init})
    if not (train / "export" / "manifest.json").is_file():
        run_training(train_spec, train, phase="retrain", export_dir=str(init), resume=True)
    trained = load_subnet(train / "export")
    evaluator = Evaluator(trained, setup.videos, [], setup.embeddings,
                          dataclasses.replace(setup.config, recalibration_batches=0))
    result = evaluator.evaluate(trained.arch)
    out = {**item, "standalone": result.to_dict()}
    atomic_write_json(root / "result.json", out, sort_keys=False)
    return out


def run_fidelity(run_dir: str | Path, *, k: int, train_steps: int, init: Init = "scratch",
                 out: str | Path | None = None, address: str | None = None, workers: int | None = None,
                 threads: int = 1) -> dict[str, Any]:
    """Measure ranking fidelity of the search in `run_dir`; returns what `fidelity.json` holds."""
    from nasvl.search.export import spec_from_meta
    from nasvl.search.run import prepare

    run_dir = Path(run_dir).resolve()
    records = load_records(run_dir)
    out_dir = Path(out).resolve() if out else run_dir / "fidelity"
    plan = _plan(records, out_dir, k, train_steps, init)
    spec = spec_from_meta(records.meta)
    train_spec = _train_spec(spec, train_steps, init, threads)
    folders = [out_dir / f"{i:02d}_{_key(item)}" for i, item in enumerate(plan["archs"])]
    todo = [(item, f) for item, f in zip(plan["archs"], folders, strict=True) if not (f / "result.json").is_file()]
    if todo:
        print(f"fidelity: {len(plan['archs']) - len(todo)} of {len(folders)} architectures already done; "
              f"training {len(todo)} for {train_steps} steps each ({init})", flush=True)
        setup, _ = prepare(spec, records.meta["supernet"], run_dir)
        _run_on_ray(setup, todo, train_spec, address, workers or spec.search.trials_in_parallel,
                    spec.search.cpus_per_trial)
    results = [read_json_file(f / "result.json", "a fidelity result") for f in folders]
    try:
        summary = summarize(results, plan)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a hand-edited or foreign folder
        raise NasvlError(f"{out_dir}: a plan.json or result.json is not a nasvl fidelity record "
                         f"({type(exc).__name__}: {exc}); remove it to redo that architecture") from None
    atomic_write_json(out_dir / "fidelity.json", summary, sort_keys=False)
    from nasvl.search.plots import plot_fidelity

    summary["plot"] = str(plot_fidelity(summary, out_dir / "fidelity.png"))
    return summary


def _key(item: dict[str, Any]) -> str:
    import hashlib
    import json

    return hashlib.sha1(json.dumps(item["arch"], sort_keys=True).encode()).hexdigest()[:10]


def _run_on_ray(setup: EvalSetup, todo: list[tuple[dict[str, Any], Path]], train_spec: Any, address: str | None,
                parallel: int, cpus: float) -> None:
    import ray

    from nasvl.cluster import init_ray, raise_worker_error

    init_ray(address)
    task = ray.remote(num_cpus=cpus, max_retries=1)(train_and_score)
    setup_ref = ray.put(setup)
    queue = list(todo)
    running: dict[Any, str] = {}
    try:
        while queue or running:
            while queue and len(running) < max(1, parallel):
                item, folder = queue.pop(0)
                running[task.remote(setup_ref, item, train_spec, str(folder))] = item["trial"]
            ready, _ = ray.wait(list(running), num_returns=1)
            for ref in ready:
                trial = running.pop(ref)
                done = ray.get(ref)
                print(f"fidelity: trial {trial}: supernet SUC {done['supernet_suc']:.4f}, stand-alone SUC "
                      f"{_suc(done):.4f}", flush=True)
    except Exception as exc:  # a worker's nasvl error as itself, without Ray's traceback
        raise_worker_error(exc, "the fidelity run")


def _suc(result: dict[str, Any]) -> float:
    value = result["standalone"].get("suc")
    return math.nan if value is None or result["standalone"].get("error") else float(value)


def summarize(results: list[dict[str, Any]], plan: dict[str, Any]) -> dict[str, Any]:
    """τ and ρ with CIs over the architectures whose stand-alone evaluation succeeded."""
    points = [{"trial": r["trial"], "supernet_suc": float(r["supernet_suc"]), "standalone_suc": _suc(r)}
              for r in results]
    ok = [p for p in points if not math.isnan(p["standalone_suc"])]
    summary: dict[str, Any] = {"k": plan["k"], "train_steps": plan["train_steps"], "init": plan["init"],
                               "evaluated": len(ok), "failed": len(points) - len(ok),
                               "points": [{**p, "standalone_suc": None if math.isnan(p["standalone_suc"])
                                           else p["standalone_suc"]} for p in points]}
    if len(ok) < 2:
        summary["kendall_tau"] = summary["spearman_rho"] = None
        return summary
    x = [p["supernet_suc"] for p in ok]
    y = [p["standalone_suc"] for p in ok]
    summary["kendall_tau"] = bootstrap(x, y, kendall_tau).to_dict()
    summary["spearman_rho"] = bootstrap(x, y, spearman_rho).to_dict()
    return summary


def fidelity_step(ctx: Any, resume: bool) -> dict[str, Any]:
    """The job step: fidelity of the job's search, in `runs/<job>/fidelity/` (always resumable)."""
    spec = ctx.job.fidelity
    summary = run_fidelity(ctx.step_dir("search"), k=spec.k, train_steps=spec.train_steps, init=spec.init,
                           out=ctx.step_dir("fidelity"), address=ctx.address)
    return {key: summary[key] for key in ("kendall_tau", "spearman_rho", "evaluated", "failed", "plot")}
