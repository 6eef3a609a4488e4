"""Running a search on Ray Tune (local runtime or a cluster), resuming it, and reading its records.

Layout of a search run folder::

    RUN_DIR/search.json        what was searched: config, supernet checkpoint, space
    RUN_DIR/tune/search/       Tune's experiment folder: the one record of trials
    RUN_DIR/evaluations.log    audit line per finished evaluation (measures re-runs after a kill)
    RUN_DIR/optuna.db          the Optuna study, for the optuna strategy (SQLite by default)
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import default_collate

from nasvl.data.mixing import build_pair_dataset
from nasvl.data.registry import load_dataset
from nasvl.errors import ConfigError, NasvlError
from nasvl.io import atomic_write_json
from nasvl.language import EmbeddingCache
from nasvl.search.config import SearchSpec
from nasvl.search.live import LiveTable
from nasvl.search.records import load_records
from nasvl.search.tune import EvalSetup, StrategySearcher, trainable
from nasvl.train.config import fit_pairs, resolve_path
from nasvl.train.loop import supernet_from_checkpoint

EXPERIMENT = "search"


def _embeddings(spec: SearchSpec, texts: list[str], dim: int) -> dict[str, torch.Tensor]:
    cache = EmbeddingCache(spec.language.cache_dir or "runs/cache/embeddings", spec.language.model)
    if cache.dim != dim:
        raise ConfigError(f"language model gives {cache.dim}-d embeddings, the space's mixers take {dim}",
                          file=spec.file, path="language.model")
    cache.warm(texts)
    return cache.get_many(texts)


def prepare(spec: SearchSpec, supernet_ckpt: str | Path, run_dir: Path) -> tuple[EvalSetup, Any]:
    """Load the supernet, decode nothing yet, draw the recalibration batches once."""
    net, _ = supernet_from_checkpoint(supernet_ckpt)
    space = net.space
    videos = load_dataset(resolve_path(spec.val.root, spec.file), spec.val.format, spec.val.split, strict=True)
    if not videos:
        raise ConfigError(f"no validation videos under {spec.val.root}", file=spec.file, path="val.root")
    texts = sorted({v.description for v in videos if v.description})
    batches: list[dict[str, Any]] = []
    pairs = None
    if spec.pairs is not None:
        sized = fit_pairs(spec.pairs, space.input_size("template"), space.input_size("search"), spec.file)
        base = build_pair_dataset(sized)
        texts = sorted(set(texts) | {v.description for s in base.sources for v in s.videos if v.description})
    embeddings = _embeddings(spec, texts, space.mixer.language_dim) if space.mixer is not None else {}
    if spec.pairs is not None:
        pairs = build_pair_dataset(sized, embeddings=embeddings or None)
        ev = spec.search.eval
        batches = [default_collate([pairs[i * ev.recalibration_batch_size + j]
                                    for j in range(ev.recalibration_batch_size)])
                   for i in range(ev.recalibration_batches)]
    setup = EvalSetup(key=f"{run_dir.resolve()}:{space.hash}", space_raw=space.raw,
                      weights={k: v.clone() for k, v in net.state_dict().items()}, videos=videos,
                      embeddings=embeddings, recal_batches=batches, config=spec.search.eval,
                      audit_log=str((run_dir / "evaluations.log").resolve()))
    return setup, space


def run_search(spec: SearchSpec, supernet_ckpt: str | Path, run_dir: str | Path, *, address: str | None = None,
               resume: bool = False, live: bool = True) -> dict[str, Any]:
    import ray
    from ray import tune

    run_dir = Path(run_dir).resolve()
    exp_dir = run_dir / "tune" / EXPERIMENT
    if resume and exp_dir.exists() and not (exp_dir / "tuner.pkl").exists():
        # Killed before Tune wrote its first state: nothing was recorded, start afresh.
        shutil.rmtree(exp_dir)
        resume = False
    if exp_dir.exists() and not resume:
        raise NasvlError(f"{run_dir} already holds a search; pass --resume to continue it, or choose another "
                         "output folder (results are never overwritten silently)")
    if resume and not exp_dir.exists():
        raise NasvlError(f"{exp_dir}: nothing to resume")
    run_dir.mkdir(parents=True, exist_ok=True)
    setup, space = prepare(spec, supernet_ckpt, run_dir)
    if not resume:
        atomic_write_json(run_dir / "search.json", {
            "config": json.loads(json.dumps(dataclasses.asdict(spec), default=str)),
            "supernet": str(Path(supernet_ckpt).resolve()), "space_name": space.name, "space_hash": space.hash,
        }, sort_keys=False)
    # Snapshot Tune's experiment state after every event: evaluations take seconds, a snapshot
    # milliseconds, and it bounds what a killed driver re-runs to the trials in flight.
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    if not ray.is_initialized():
        # address=None would make Ray join any cluster a `ray start` left on this machine (its
        # /tmp/ray/ray_current_cluster file); the default is a private local runtime. RAY_ADDRESS
        # (set by `ray job submit`) still selects a cluster, as does --address auto|HOST:PORT.
        ray.init(address=address or os.environ.get("RAY_ADDRESS") or "local", include_dashboard=False,
                 log_to_driver=False,
                 runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}})
    s = spec.search
    fn = trainable(setup, s.cpus_per_trial, s.gpus_per_trial)
    callbacks = [LiveTable(s.objectives, enabled=live)]
    started = time.perf_counter()
    if resume:
        tuner = tune.Tuner.restore(str(exp_dir), trainable=fn, resume_unfinished=True, resume_errored=True)
    else:
        searcher = StrategySearcher(s.strategy, space.raw, s.seed, dict(s.options), run_dir=str(run_dir))
        tuner = tune.Tuner(
            fn,
            tune_config=tune.TuneConfig(search_alg=searcher, metric="suc", mode="max", num_samples=-1,
                                        max_concurrent_trials=s.trials_in_parallel, reuse_actors=True),
            run_config=tune.RunConfig(name=EXPERIMENT, storage_path=str(run_dir / "tune"),
                                      failure_config=tune.FailureConfig(max_failures=s.max_failures),
                                      callbacks=callbacks, verbose=0),
        )
    grid = tuner.fit()
    records = load_records(run_dir)
    if not records.completed and records.records:
        first = next((r for r in grid if r.error), None)
        reason = f": {first.error}" if first is not None else ""
        raise NasvlError(f"every evaluated trial failed; the search stopped (see {exp_dir}){reason}"[:2000])
    summary = {"run_dir": str(run_dir), "seconds": time.perf_counter() - started, **records.summary()}
    atomic_write_json(run_dir / "summary.json", summary, sort_keys=False)
    return summary
