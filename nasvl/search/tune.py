"""Ray Tune glue: a `Searcher` over any nasvl `Strategy`, and the trainable that scores one candidate.

Tune supplies the scheduler, retries (`FailureConfig`), the experiment store
(the trial records) and resume (`Tuner.restore`); nasvl supplies proposals and
scores. The searcher pickles as plain data (strategy name, space, options and
`state_dict()`), so the pickled Tuner in the experiment folder holds no live
objects such as an Optuna storage connection.

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

import torch
from ray import tune
from ray.tune.search import Searcher

from nasvl.data.video import Video
from nasvl.search.evaluator import EvalConfig, Evaluator
from nasvl.search.result import TrialResult
from nasvl.search.strategy import Strategy, build_strategy
from nasvl.space import parse_space_dict

RESULT_KEYS = ("suc", "prec", "norm_prec", "params", "macs", "latency_ms", "wall_s", "error")


class StrategySearcher(Searcher):
    """`suggest` → `ask`, `on_trial_complete` → `tell`; None from `suggest` means "wait for the generation"."""

    def __init__(self, strategy_name: str, space_raw: dict[str, Any], seed: int, options: dict[str, Any],
                 run_dir: str | None = None, metric: str = "suc", mode: str = "max") -> None:
        super().__init__(metric=metric, mode=mode)
        self._spec = {"strategy_name": strategy_name, "space_raw": space_raw, "seed": seed, "options": options,
                      "run_dir": run_dir, "metric": metric, "mode": mode}
        self.strategy: Strategy = build_strategy(strategy_name, parse_space_dict(space_raw), seed,
                                                 run_dir=run_dir, **options)
        self.tune_to_nasvl: dict[str, str] = {}
        self.outcomes: list[bool] = []  # ok/failed per told trial, to stop a search whose setup is broken

    ABORT_AFTER = 3

    @property
    def aborted(self) -> bool:
        """The first trials all failed: a systematic error (bad data path, broken setup), not a bad candidate."""
        return len(self.outcomes) >= self.ABORT_AFTER and not any(self.outcomes)

    # ---- Searcher API -----------------------------------------------------------------------
    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if trial_id in self.tune_to_nasvl:  # Tune re-asks for a trial it already has (restore)
            record = self.strategy.trial(self.tune_to_nasvl[trial_id])
            return {"arch": record.arch.to_dict(), "nasvl_trial": record.trial_id}
        if self.aborted:
            return Searcher.FINISHED
        proposals = self.strategy.ask(1)
        if not proposals:
            return Searcher.FINISHED if self.strategy.done else None
        proposal = proposals[0]
        self.tune_to_nasvl[trial_id] = proposal.trial_id
        return {"arch": proposal.arch.to_dict(), "nasvl_trial": proposal.trial_id}

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False) -> None:
        nasvl_id = self.tune_to_nasvl.get(trial_id)
        if nasvl_id is None:
            return
        if error or not result or "suc" not in result:
            self.strategy.tell(nasvl_id, TrialResult.failed("trial failed in Ray (see the trial's error file)"))
            self.outcomes.append(False)
            return
        told = result_from_metrics(result)
        self.strategy.tell(nasvl_id, told)
        self.outcomes.append(told.ok)

    # ---- persistence: JSON, not pickle --------------------------------------------------------
    def save(self, checkpoint_path: str) -> None:
        state = {"strategy": self.strategy.state_dict(), "tune_to_nasvl": self.tune_to_nasvl,
                 "outcomes": self.outcomes}
        Path(checkpoint_path).write_text(json.dumps(state), encoding="utf-8")

    def restore(self, checkpoint_path: str) -> None:
        state = json.loads(Path(checkpoint_path).read_text(encoding="utf-8"))
        self.strategy.load_state_dict(state["strategy"])
        self.tune_to_nasvl = state["tune_to_nasvl"]
        self.outcomes = state.get("outcomes", [])

    def __getstate__(self) -> dict[str, Any]:
        return {"spec": self._spec, "state": {"strategy": self.strategy.state_dict(),
                                              "tune_to_nasvl": self.tune_to_nasvl, "outcomes": self.outcomes}}

    def __setstate__(self, data: dict[str, Any]) -> None:
        spec = dict(data["spec"])
        metric, mode = spec.pop("metric"), spec.pop("mode")
        self.__init__(**spec, metric=metric, mode=mode)  # type: ignore[misc]
        self.strategy.load_state_dict(data["state"]["strategy"])
        self.tune_to_nasvl = data["state"]["tune_to_nasvl"]
        self.outcomes = data["state"].get("outcomes", [])


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

    def build(self) -> Evaluator:
        from nasvl.supernet import Supernet

        net = Supernet(parse_space_dict(self.space_raw))
        net.load_state_dict(self.weights)
        evaluator = Evaluator(net, self.videos, None, self.embeddings, self.config)
        evaluator.batches = self.recal_batches
        return evaluator


_EVALUATORS: dict[str, Evaluator] = {}


def evaluate_trial(config: dict[str, Any], setup: EvalSetup) -> None:
    """The Tune trainable: score `config["arch"]` and report the `TrialResult` fields."""
    if setup.key not in _EVALUATORS:
        _EVALUATORS.clear()  # a reused worker from another search frees the previous one
        _EVALUATORS[setup.key] = setup.build()
    evaluator = _EVALUATORS[setup.key]
    arch = evaluator.supernet.space.arch(config["arch"])
    result = evaluator.evaluate(arch)
    metrics = {k: v for k, v in result.to_dict().items() if v is not None}
    metrics["suc"] = result.suc if result.ok else -1.0  # Tune needs a number; `error` marks the failure
    metrics["arch_key"] = arch.key
    metrics["nasvl_trial"] = config.get("nasvl_trial")
    if setup.audit_log:
        line = json.dumps({"arch_key": arch.key, "nasvl_trial": config.get("nasvl_trial"), "ok": result.ok,
                           "pid": os.getpid(), "time": time.time()})
        with open(setup.audit_log, "a", encoding="utf-8") as fh:  # O_APPEND: whole lines from many workers
            fh.write(line + "\n")
    tune.report(metrics)


def trainable(setup: EvalSetup, cpus: float, gpus: float) -> Any:
    return tune.with_resources(tune.with_parameters(evaluate_trial, setup=setup), {"cpu": cpus, "gpu": gpus})
