"""What a search spent: evaluations, evaluation frames and wall time per rung, and what it bought.

Read from the evaluations `StrategySearcher` records in `search_state.json` (one entry per finished
evaluation, in order). "Frames" are the validation frames tracked by an evaluation; wall time is the
evaluation's own (recalibration + tracking + latency), summed over workers.
"""

from __future__ import annotations

from typing import Any

from nasvl.search.records import Records


def full_rung(records: Records) -> int:
    """Index of the last rung (the search's `eval`): the number of cheap rungs in its config."""
    rungs = records.meta.get("config", {}).get("search", {}).get("rungs") or []
    return len(rungs) if isinstance(rungs, list) else 0


def search_cost(records: Records) -> dict[str, Any]:
    """Totals, a per-rung breakdown, and the best full-rung SUC after each evaluation's frames."""
    last = full_rung(records)
    per_rung: dict[int, dict[str, float]] = {}
    growth: list[dict[str, float]] = []
    frames = 0
    best: float | None = None
    for e in records.evaluations:
        row = per_rung.setdefault(e["rung"], {"evaluations": 0, "frames": 0, "wall_s": 0.0})
        row["evaluations"] += 1
        row["frames"] += int(e["frames"] or 0)
        row["wall_s"] += float(e["wall_s"] or 0.0)
        frames += int(e["frames"] or 0)
        if e["rung"] == last and e["suc"] is not None and (best is None or e["suc"] > best):
            best = e["suc"]
            growth.append({"frames": frames, "best_suc": best, "evaluations": sum(
                r["evaluations"] for r in per_rung.values())})
    return {"evaluations": len(records.evaluations), "eval_frames": frames,
            "rungs": [{"rung": r, **per_rung[r]} for r in sorted(per_rung)], "best_vs_frames": growth}
