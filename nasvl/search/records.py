"""Reading a search's trial records from Tune's experiment folder (the one store of results)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasvl.errors import NasvlError
from nasvl.search.result import MAXIMIZE, TrialResult
from nasvl.search.tune import result_from_metrics


@dataclass(frozen=True)
class Record:
    tune_id: str
    nasvl_trial: str | None
    arch: dict[str, str]
    status: str
    result: TrialResult | None
    retries: int
    order: int  # completion order proxy: Tune's trial creation order


@dataclass(frozen=True)
class Records:
    run_dir: Path
    records: tuple[Record, ...]
    meta: dict[str, Any]

    @property
    def completed(self) -> list[Record]:
        return [r for r in self.records if r.result is not None and r.result.ok]

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r.status == "ERROR" or (r.result is not None and not r.result.ok)]

    def best(self, k: int = 1) -> list[Record]:
        return sorted(self.completed, key=lambda r: -r.result.suc)[:k]  # type: ignore[union-attr]

    def pareto(self, objectives: Sequence[str] = ("suc", "latency_ms")) -> list[Record]:
        def vec(r: Record) -> tuple[float, ...] | None:
            values = [r.result.objective(o) for o in objectives]  # type: ignore[union-attr]
            if any(v is None for v in values):
                return None
            return tuple(v if o in MAXIMIZE else -v for o, v in zip(objectives, values, strict=True))

        points = [(r, vec(r)) for r in self.completed]
        points = [(r, v) for r, v in points if v is not None]
        front = [r for r, v in points
                 if not any(all(a >= b for a, b in zip(w, v, strict=True)) and w != v for _, w in points)]
        return sorted(front, key=lambda r: -r.result.suc)  # type: ignore[union-attr]

    def audit(self) -> list[dict[str, Any]]:
        path = self.run_dir / "evaluations.log"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def reruns(self) -> int:
        """Evaluations of an architecture that had already finished successfully (re-run after a kill)."""
        seen: set[str] = set()
        again = 0
        for line in self.audit():
            if line["arch_key"] in seen:
                again += 1
            if line.get("ok"):
                seen.add(line["arch_key"])
        return again

    def summary(self) -> dict[str, Any]:
        best = self.best(1)
        return {
            "trials": len(self.records), "completed": len(self.completed), "failed": len(self.failed),
            "retries": sum(r.retries for r in self.records), "reruns_after_kill": self.reruns(),
            "best": ({"suc": best[0].result.suc, "arch": best[0].arch, "trial": best[0].nasvl_trial}  # type: ignore[union-attr]
                     if best else None),
        }


def load_records(run_dir: str | Path) -> Records:
    from ray.tune import ExperimentAnalysis

    run_dir = Path(run_dir).resolve()  # pyarrow, under ExperimentAnalysis, takes only absolute paths
    exp = run_dir / "tune" / "search"
    meta_path = run_dir / "search.json"
    if not meta_path.is_file() or not exp.is_dir():
        raise NasvlError(f"{run_dir}: not a search run folder (expected search.json and tune/search/)")
    meta = json.loads(meta_path.read_text())
    analysis = ExperimentAnalysis(str(exp))
    records = []
    for i, trial in enumerate(analysis.trials):
        last = trial.last_result or {}
        result = result_from_metrics(last) if "suc" in last else None
        if result is not None and result.error is None and last.get("suc", -1) < 0:
            result = TrialResult.failed("negative SUC reported")
        config = trial.config or {}
        records.append(Record(trial.trial_id, config.get("nasvl_trial"), dict(config.get("arch", {})),
                              str(trial.status), result, int(getattr(trial, "num_failures", 0) or 0), i))
    return Records(run_dir, tuple(records), meta)


