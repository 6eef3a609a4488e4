"""Reading a search's trial records from nasvl's own JSON (`search.json`, `search_state.json`).

Only JSON is read, never Tune's experiment state or `tuner.pkl`: `search report` and `export`
are safe on a run folder from someone else (a crafted pickle in Tune's files runs nothing).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasvl.config.limits import RUN_RECORDS_BYTES
from nasvl.config.yamldoc import load_json_text
from nasvl.errors import ConfigError, NasvlError
from nasvl.search.result import TrialResult, pareto_front, smaller_is_better
from nasvl.search.tune import STATE_FILE, STATE_VERSION

META_FILE = "search.json"


@dataclass(frozen=True)
class Record:
    nasvl_trial: str
    arch: dict[str, str]
    status: str                    # "completed", "failed", "stopped" (at a cheap rung) or "pending" (in flight)
    result: TrialResult | None
    retries: int                   # re-runs after a Ray worker or node failure
    node_ip: str | None            # the node whose worker produced the result
    rung: int = 0                  # the rung reached (multi-fidelity; 0 without rungs)


@dataclass(frozen=True)
class Records:
    run_dir: Path
    records: tuple[Record, ...]
    meta: dict[str, Any]
    evaluations: tuple[dict[str, Any], ...] = ()  # every finished evaluation in order (rung, suc, frames, wall_s)

    @property
    def completed(self) -> list[Record]:
        return [r for r in self.records if r.status == "completed"]

    @property
    def failed(self) -> list[Record]:
        return [r for r in self.records if r.status == "failed"]

    @property
    def stopped(self) -> list[Record]:
        return [r for r in self.records if r.status == "stopped"]

    def best(self, k: int = 1) -> list[Record]:
        return sorted(self.completed, key=lambda r: -r.result.suc)[:k]  # type: ignore[union-attr]

    def pareto(self, objectives: Sequence[str]) -> list[Record]:
        """Non-dominated completed records over `objectives`, best SUC first."""
        return pareto_front(self.best(len(self.completed)),
                            lambda r: smaller_is_better(r.result, objectives))  # type: ignore[arg-type]

    def audit(self) -> list[dict[str, Any]]:
        path = self.run_dir / "evaluations.log"
        if not path.is_file():
            return []
        lines = []
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            try:
                lines.append(json.loads(line))
            except ValueError:
                if line.strip():  # a torn last line from a killed worker is expected; others are not
                    lines.append({"arch_key": f"<unreadable line {number}>", "ok": False})
        return lines

    def reruns(self) -> int:
        """Evaluations of an architecture that had already finished successfully (re-run after a kill).

        Per rung: a candidate scored on a cheap rung and then on the next is two evaluations, not a re-run.
        """
        seen: set[tuple[Any, Any]] = set()
        again = 0
        for line in self.audit():
            key = (line.get("arch_key"), line.get("rung", 0))
            if key in seen:
                again += 1
            if line.get("ok"):
                seen.add(key)
        return again

    def summary(self) -> dict[str, Any]:
        best = self.best(1)
        return {
            "trials": len(self.records), "completed": len(self.completed), "failed": len(self.failed),
            "stopped_early": len(self.stopped), "evaluations": len(self.evaluations),
            "eval_frames": sum(int(e.get("frames") or 0) for e in self.evaluations),
            "retries": sum(r.retries for r in self.records), "reruns_after_kill": self.reruns(),
            "nodes": sorted({r.node_ip for r in self.completed if r.node_ip}),
            "best": ({"suc": best[0].result.suc, "arch": best[0].arch, "trial": best[0].nasvl_trial}  # type: ignore[union-attr]
                     if best else None),
        }


def full_score_records(records: Records) -> list[Record]:
    """Completed records scored on the full validation set (what rankings across trials compare)."""
    return records.completed


def read_json_file(path: Path, what: str) -> Any:
    """A JSON file of a run folder (possibly someone else's): bounded, and any defect is one clear error."""
    if not path.is_file():
        raise NasvlError(f"{path}: missing ({what})")
    size = path.stat().st_size
    if size > RUN_RECORDS_BYTES.value:
        raise NasvlError(f"{path}: {RUN_RECORDS_BYTES.message(size)}")
    try:
        return load_json_text(path.read_bytes().decode("utf-8"), str(path), size_limit=RUN_RECORDS_BYTES)
    except UnicodeDecodeError as exc:
        raise NasvlError(f"{path}: invalid JSON: not UTF-8 ({exc.reason}) (in {what})") from None
    except ConfigError as exc:
        raise NasvlError(f"{exc} (in {what})") from None


def load_records(run_dir: str | Path) -> Records:
    run_dir = Path(run_dir).resolve()
    if not run_dir.is_dir() or not (run_dir / META_FILE).exists():
        raise NasvlError(f"{run_dir}: not a search run folder (expected {META_FILE} and {STATE_FILE})")
    meta = read_json_file(run_dir / META_FILE, "the search's configuration")
    state = read_json_file(run_dir / STATE_FILE, "the search's trial records")
    try:
        return Records(run_dir, tuple(_records(state)), _check_meta(meta), tuple(_evaluations(state)))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise NasvlError(f"{run_dir / STATE_FILE}: not a nasvl search state ({type(exc).__name__}: {exc})") from None


def _check_meta(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict) or \
            not isinstance(meta.get("supernet"), str):
        raise ValueError(f"{META_FILE} needs 'config' (mapping) and 'supernet' (path)")
    return meta


def _result(data: dict[str, Any]) -> TrialResult:
    result = TrialResult.from_dict(data)
    for name, value in vars(result).items():
        if name == "error":
            ok = value is None or isinstance(value, str)
        else:
            ok = value is None or (isinstance(value, int | float) and not isinstance(value, bool))
        if not ok:
            raise ValueError(f"result field {name!r} has a {type(value).__name__}")
    return result


def _records(state: dict[str, Any]) -> list[Record]:
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"version {state.get('version')!r} is not {STATE_VERSION}")
    pending = set(state["strategy"]["pending"])
    out = []
    for trial in state["strategy"]["trials"]:
        trial_id = str(trial["id"])
        run = state["runs"].get(trial_id, {})
        result = None if trial["result"] is None else _result(trial["result"])
        status = "pending" if trial_id in pending else ("completed" if result is not None and result.ok
                                                         else "stopped" if run.get("stopped_at") is not None
                                                         else "failed")
        arch = run.get("arch")
        if not isinstance(arch, dict):
            raise ValueError(f"trial {trial_id}: no architecture recorded")
        out.append(Record(trial_id, {str(k): str(v) for k, v in arch.items()}, status, result,
                          int(run.get("retries", 0)), run.get("node"), int(run.get("rung", 0))))
    return out


def _evaluations(state: dict[str, Any]) -> list[dict[str, Any]]:
    def number(e: dict[str, Any], key: str) -> float | None:
        value = e.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"evaluation field {key!r} has a {type(value).__name__}")
        return value

    return [{"trial": str(e["trial"]), "rung": int(number(e, "rung") or 0), "suc": number(e, "suc"),
             "frames": number(e, "frames"), "wall_s": number(e, "wall_s")}
            for e in state.get("evaluations", [])]  # absent in records from before multi-fidelity
