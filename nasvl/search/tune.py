"""Ray Tune glue: a `Searcher` over any nasvl `Strategy`, and the trainable that scores one candidate.

Tune supplies the scheduling of trials onto workers; nasvl supplies proposals,
scores, retries and the records (`search_state.json`, see `StrategySearcher`).
Tune's experiment files are written but never read back, so resume does not go
through `Tuner.restore` and no pickle from a run folder is ever loaded.

The trainable receives the supernet weights, validation videos and embeddings
once through the object store (`tune.with_parameters`). With `reuse_actors`, a
worker process keeps its `Evaluator` — decoded frames, supernet, recalibration
batches — in a module-level cache across the trials it runs.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
import torch
from ray import tune
from ray.tune.search import ConcurrencyLimiter, Searcher, SearchGenerator

from nasvl.data.video import Video
from nasvl.io import atomic_write_json
from nasvl.search.evaluator import EvalConfig, Evaluator
from nasvl.search.result import DEFAULT_OBJECTIVES, TrialResult
from nasvl.search.rungs import Rung, promoted, rung_config
from nasvl.search.strategy import Strategy, build_strategy
from nasvl.space import parse_space_dict
from nasvl.supernet import build_supernet

RESULT_KEYS = ("suc", "prec", "norm_prec", "params", "macs", "latency_ms", "wall_s", "error")


STATE_FILE = "search_state.json"
STATE_VERSION = 1


class StrategySearcher(Searcher):
    """`suggest` → `ask`, `on_trial_complete` → `tell`; None from `suggest` means "wait for the generation".

    The searcher, not Tune, owns retries and the trial records. Tune runs with `max_failures=0`:
    a Tune-level error (a worker or node died; evaluation errors are results, not Tune errors) is
    counted here and the candidate is re-queued as a new Tune trial, up to `max_failures` times.
    Tune's own accounting counted one actor death twice (the task failure, then the actor failure
    of an already re-queued trial) and dropped the candidate.

    After every event the whole state goes to `RUN_DIR/search_state.json` in one atomic write. It is
    the only thing nasvl reads back: records, reports and resume use this JSON, never Tune's
    pickled experiment files (a run folder from someone else must not be able to run code here).

    With multi-fidelity rungs (`nasvl.search.rungs`, `promote` holds each cheap rung's fraction), a
    candidate climbs rung by rung; each rung's score is recorded in `evaluations` and the promotion
    decided before the next rung is queued, and only the last rung's result is told to the strategy.
    """

    ABORT_AFTER = 3

    def __init__(self, strategy_name: str, space_raw: dict[str, Any], seed: int, options: dict[str, Any],
                 run_dir: str | None = None, max_failures: int = 0, metric: str = "suc",
                 mode: str = "max", promote: list[float] | None = None,
                 objectives: tuple[str, ...] = DEFAULT_OBJECTIVES) -> None:
        super().__init__(metric=metric, mode=mode)
        self._spec = {"strategy_name": strategy_name, "space_raw": space_raw, "seed": seed, "options": options,
                      "run_dir": run_dir, "max_failures": max_failures, "metric": metric, "mode": mode,
                      "promote": list(promote or []), "objectives": objectives}
        self.promote = list(promote or [])
        self.strategy: Strategy = build_strategy(strategy_name, parse_space_dict(space_raw), seed,
                                                 run_dir=run_dir, objectives=objectives, **options)
        self.max_failures = max_failures
        self.tune_to_nasvl: dict[str, str] = {}
        self.requeued: list[str] = []   # nasvl ids to run again: retries, and trials in flight at a kill
        self.runs: dict[str, dict[str, Any]] = {}  # nasvl id -> arch, retries, tune ids, node
        self.outcomes: list[bool] = []  # ok/failed per told trial, to stop a search whose setup is broken
        self.evaluations: list[dict[str, Any]] = []  # every finished evaluation, in order: rung, SUC, frames

    @property
    def aborted(self) -> bool:
        """The first trials all failed: a systematic error (bad data path, broken setup), not a bad candidate."""
        return len(self.outcomes) >= self.ABORT_AFTER and not any(self.outcomes)

    # ---- Searcher API -----------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if self.requeued:
            nasvl_id = self.requeued.pop(0)
        elif self.aborted:
            return Searcher.FINISHED
        else:
            proposals = self.strategy.ask(1)
            if not proposals:
                return Searcher.FINISHED if self.strategy.done else None
            nasvl_id = proposals[0].trial_id
            self.runs[nasvl_id] = {"arch": proposals[0].arch.to_dict(), "retries": 0, "tune_ids": [],
                                   "node": None, "rung": 0}
        run = self.runs[nasvl_id]
        self.tune_to_nasvl[trial_id] = nasvl_id
        run["tune_ids"].append(trial_id)
        self.persist()
        return {"arch": run["arch"], "nasvl_trial": nasvl_id, "rung": run.get("rung", 0)}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        nasvl_id = self.tune_to_nasvl.get(trial_id)
        if nasvl_id is None:
            return
        run = self.runs[nasvl_id]
        if error or not result or "suc" not in result:
            if run["retries"] < self.max_failures:
                run["retries"] += 1
                self.requeued.append(nasvl_id)
                print(f"trial {nasvl_id}: its Ray worker failed (Tune trial {trial_id}); running it again "
                      f"({run['retries']}/{self.max_failures})", flush=True)
            else:
                self.strategy.tell(nasvl_id, TrialResult.failed("the trial's Ray worker failed "
                                                                f"{run['retries'] + 1} times"))
                self.outcomes.append(False)
            self.persist()
            return
        told = result_from_metrics(result)
        run["node"] = result.get("node_ip")
        rung = int(run.get("rung", 0))
        self.evaluations.append({"trial": nasvl_id, "rung": rung, "suc": told.suc if told.ok else None,
                                 "frames": result.get("eval_frames"), "wall_s": told.wall_s})
        if rung < len(self.promote) and told.ok:
            scores = [e["suc"] for e in self.evaluations if e["rung"] == rung and e["suc"] is not None]
            if promoted(told.suc, scores, self.promote[rung]):
                run["rung"] = rung + 1
                self.requeued.append(nasvl_id)  # recorded before it runs: a kill now loses nothing
                self.persist()
                return
            run["stopped_at"] = rung
            told = TrialResult.failed(f"stopped at rung {rung} of {len(self.promote)}: SUC {told.suc:.4f} is "
                                      f"below the best {self.promote[rung]:.0%} of that rung",
                                      wall_s=told.wall_s)
            self.outcomes.append(True)  # a working evaluation, not a broken setup
        else:
            self.outcomes.append(told.ok)
        self.strategy.tell(nasvl_id, told)
        self.persist()

    # ---- persistence: JSON, not pickle --------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, "strategy": self.strategy.state_dict(), "runs": self.runs,
                "requeued": self.requeued, "outcomes": self.outcomes, "evaluations": self.evaluations}

    def persist(self) -> None:
        run_dir = self._spec["run_dir"]
        if run_dir is not None:
            atomic_write_json(Path(run_dir) / STATE_FILE, self.state(), sort_keys=False)

    def resume(self, state: dict[str, Any]) -> None:
        """Continue from a saved state: the trials that were in flight run again (new Tune trials)."""
        self.strategy.load_state_dict(state["strategy"])
        self.runs = state["runs"]
        self.outcomes = state["outcomes"]
        self.evaluations = list(state.get("evaluations", []))  # absent in records from before rungs
        in_flight = [t for t in self.strategy.pending if t not in state["requeued"]]
        self.requeued = list(state["requeued"]) + in_flight

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles the searcher into tuner.pkl: give it plain data, no storage connections.
        return {"spec": self._spec, "state": self.state()}

    def __setstate__(self, data: dict[str, Any]) -> None:
        self.__init__(**data["spec"])  # type: ignore[misc]
        self.resume(data["state"])


class _NoTuneCheckpoint(SearchGenerator):
    """Tune's wrapper around the searcher, minus the searcher files it writes into Tune's folder.

    nasvl resumes from `search_state.json` (`StrategySearcher.persist`) and never reads Tune's copies.
    Tune writes them through a temporary file and a rename while its background upload of that
    folder may still run (Ray 2.x saves the experiment state before the previous upload has
    finished); the upload then fails on the vanished temporary file and logs a traceback.
    """

    def save_to_dir(self, dirpath: str, session_str: str) -> None:
        pass


def search_algorithm(searcher: StrategySearcher, in_parallel: int) -> SearchGenerator:
    """The searcher as Tune's `search_alg`: at most `in_parallel` trials in flight, no Tune searcher files."""
    return _NoTuneCheckpoint(ConcurrencyLimiter(searcher, max_concurrent=in_parallel))


def result_from_metrics(metrics: dict[str, Any]) -> TrialResult:
    values = {k: metrics.get(k) for k in RESULT_KEYS}
    if values["suc"] is None or (isinstance(values["suc"], float) and math.isnan(values["suc"])):
        values["suc"] = math.nan
    return TrialResult.from_dict(values)


@dataclass
class EvalSetup:
    """Everything a worker needs to build an `Evaluator`; shipped once through the object store."""

    key: str                       # identifies the search run (cache key in reused workers)
    space_raw: dict[str, Any]
    weights: dict[str, torch.Tensor]
    videos: list[Video]
    embeddings: dict[str, torch.Tensor]
    recal_batches: list[dict[str, Any]]
    config: EvalConfig
    audit_log: str | None = None   # one JSON line per finished evaluation (counts re-runs after kills)
    rungs: tuple[Rung, ...] = ()   # cheaper rungs before `config` (multi-fidelity)

    def build(self, rung: int = 0, net: Any = None) -> Evaluator:
        """The evaluator of `rung`; `net` shares an already built supernet between rungs."""
        if net is None:
            net = build_supernet(parse_space_dict(self.space_raw))
            net.load_state_dict(self.weights)
        return Evaluator(net, self.videos, self.recal_batches, self.embeddings,
                         rung_config(self.rungs, rung, self.config))


_EVALUATORS: dict[tuple[str, int], Evaluator] = {}


def _evaluator(setup: EvalSetup, rung: int) -> Evaluator:
    if (setup.key, rung) not in _EVALUATORS:
        same = [e for (key, _), e in _EVALUATORS.items() if key == setup.key]
        if not same:
            _EVALUATORS.clear()  # a reused worker from another search frees the previous one
        _EVALUATORS[(setup.key, rung)] = setup.build(rung, net=same[0].supernet if same else None)
    return _EVALUATORS[(setup.key, rung)]


def evaluate_trial(config: dict[str, Any], setup: EvalSetup) -> None:
    """The Tune trainable: score `config["arch"]` and report the `TrialResult` fields."""
    rung = int(config.get("rung", 0))
    evaluator = _evaluator(setup, rung)
    arch = evaluator.supernet.space.arch(config["arch"])
    result = evaluator.evaluate(arch)
    metrics = {k: v for k, v in result.to_dict().items() if v is not None}
    metrics["suc"] = result.suc if result.ok else -1.0  # Tune needs a number; `error` marks the failure
    metrics["arch_key"] = arch.key
    metrics["eval_frames"] = sum(len(v) for v in evaluator.videos)  # the search's cost, for the report
    metrics["nasvl_trial"] = config.get("nasvl_trial")
    metrics["node_ip"] = ray.util.get_node_ip_address()
    if setup.audit_log:
        line = json.dumps({"arch_key": arch.key, "nasvl_trial": config.get("nasvl_trial"), "rung": rung,
                           "ok": result.ok,
                           "pid": os.getpid(), "time": time.time()})
        with open(setup.audit_log, "a", encoding="utf-8") as fh:  # O_APPEND: whole lines from many workers
            fh.write(line + "\n")
    tune.report(metrics)


def trainable(setup: EvalSetup, cpus: float, gpus: float) -> Any:
    return tune.with_resources(tune.with_parameters(evaluate_trial, setup=setup), {"cpu": cpus, "gpu": gpus})
