"""Running a search on Ray Tune (local runtime or a cluster), resuming it, and reading its records.

Layout of a search run folder::

    RUN_DIR/search.json        what was searched: config, supernet checkpoint, space
    RUN_DIR/search_state.json  the trial records and the strategy's state (the one record; resume reads it)
    RUN_DIR/tune/search-NNN/   Tune's experiment folder of each start: written by Tune, never read back
    RUN_DIR/evaluations.log    audit line per finished evaluation (measures re-runs after a kill)
    RUN_DIR/optuna.db          the Optuna study, for the optuna strategy (SQLite by default)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import torch

from nasvl.cluster import init_ray, raise_worker_error
from nasvl.config.paths import resolve_path
from nasvl.data.pairs.mixing import build_pair_dataset
from nasvl.data.registry import load_dataset
from nasvl.errors import ConfigError, NasvlError
from nasvl.io import atomic_write_json
from nasvl.language import embedding_cache
from nasvl.search.config import SearchSpec
from nasvl.search.evaluator import recalibration_batches
from nasvl.search.live import LiveTable
from nasvl.search.records import load_records, read_json_file
from nasvl.search.tune import STATE_FILE, EvalSetup, StrategySearcher, search_algorithm, trainable
from nasvl.train.config import fit_pairs
from nasvl.train.loop import supernet_from_checkpoint
from nasvl.train.run import require_resources

EXPERIMENT = "search"


def _embeddings(spec: SearchSpec, texts: list[str], dim: int) -> dict[str, torch.Tensor]:
    cache = embedding_cache(spec.language.cache_dir, spec.language.model)
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
        batches = recalibration_batches(pairs, spec.search.eval)
    setup = EvalSetup(key=f"{run_dir.resolve()}:{space.hash}", space_raw=space.raw,
                      weights={k: v.clone() for k, v in net.state_dict().items()}, videos=videos,
                      embeddings=embeddings, recal_batches=batches, config=spec.search.eval,
                      audit_log=str((run_dir / "evaluations.log").resolve()), rungs=spec.search.rungs)
    return setup, space


def run_search(spec: SearchSpec, supernet_ckpt: str | Path, run_dir: str | Path, *, address: str | None = None,
               resume: bool = False, live: bool = True) -> dict[str, Any]:
    from ray import tune

    run_dir = Path(run_dir).resolve()
    state_path = run_dir / STATE_FILE
    state = None
    if resume and state_path.exists():
        state = read_json_file(state_path, "the search's trial records")
    elif resume and not (run_dir / "search.json").exists():
        raise NasvlError(f"{run_dir}: nothing to resume (no {STATE_FILE})")
    elif state_path.exists() or (run_dir / "tune").exists():
        raise NasvlError(f"{run_dir} already holds a search; pass --resume to continue it, or choose another "
                         "output folder (results are never overwritten silently)")
    run_dir.mkdir(parents=True, exist_ok=True)
    setup, space = prepare(spec, supernet_ckpt, run_dir)
    if state is None:
        atomic_write_json(run_dir / "search.json", {
            "config": json.loads(json.dumps(dataclasses.asdict(spec), default=str)),
            "supernet": str(Path(supernet_ckpt).resolve()), "space_name": space.name, "space_hash": space.hash,
        }, sort_keys=False)
    s = spec.search
    searcher = StrategySearcher(s.strategy, space.raw, s.seed, dict(s.options), run_dir=str(run_dir),
                                max_failures=s.max_failures, promote=[r.promote for r in s.rungs],
                                objectives=s.objectives)
    if state is not None:
        try:
            searcher.resume(state)
        except (KeyError, TypeError, ValueError, NasvlError) as exc:
            raise NasvlError(f"{state_path}: cannot resume: {exc}") from None
        print(f"resuming {run_dir}: {len(searcher.strategy.trials)} trials recorded, "
              f"{len(searcher.requeued)} to run again (in flight when it stopped)", flush=True)
    searcher.persist()
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # A dead worker is reported by the searcher in one line and retried; Tune's traceback of it
    # (and its closing "Trials did not complete") would bury that under a worker's stack.
    os.environ.setdefault("TUNE_PRINT_ALL_TRIAL_ERRORS", "0")
    logging.getLogger("ray.tune.tune").setLevel(logging.CRITICAL)
    init_ray(address)
    require_resources("one search trial", cpus=s.cpus_per_trial, gpus=s.gpus_per_trial)
    fn = trainable(setup, s.cpus_per_trial, s.gpus_per_trial)
    callbacks = [LiveTable(s.objectives, enabled=live)]
    started = time.perf_counter()
    # Each start is a fresh Tune experiment: Tune's files are never restored (they hold pickles).
    attempt = len(list((run_dir / "tune").glob(f"{EXPERIMENT}-*"))) if (run_dir / "tune").exists() else 0
    tuner = tune.Tuner(
        fn,
        tune_config=tune.TuneConfig(search_alg=search_algorithm(searcher, s.trials_in_parallel), metric="suc",
                                    mode="max", num_samples=-1, reuse_actors=True),
        run_config=tune.RunConfig(name=f"{EXPERIMENT}-{attempt:03d}", storage_path=str(run_dir / "tune"),
                                  failure_config=tune.FailureConfig(max_failures=0),
                                  callbacks=callbacks, verbose=0),
    )
    try:
        tuner.fit()
    except Exception as exc:  # a nasvl error from the driver-side searcher or a worker: as itself
        raise_worker_error(exc, "the search")
    records = load_records(run_dir)
    if not records.completed and records.records:
        first = next((r.result.error for r in records.failed if r.result is not None), None)
        reason = f": {first}" if first else ""
        raise NasvlError(f"every evaluated trial failed; the search stopped (see {run_dir / 'tune'}){reason}"[:2000])
    summary = {"run_dir": str(run_dir), "seconds": time.perf_counter() - started, **records.summary()}
    atomic_write_json(run_dir / "summary.json", summary, sort_keys=False)
    return summary
