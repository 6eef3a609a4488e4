"""Human and machine outputs of an evaluation: a rich table and JSON (NaN becomes null)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from nasvl.io import atomic_write_json


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _pct(v: float) -> str:
    return "–" if _missing(v) else f"{100 * v:.1f}"


def format_suc(entry: Mapping[str, Any]) -> str:
    """A SUC in percent with its bootstrap interval, e.g. "37.3 [33.1, 41.2]" (no interval: the value)."""
    ci = entry.get("suc_ci")
    if not ci or _missing(ci[0]) or _missing(ci[1]):
        return _pct(entry.get("suc"))
    return f"{_pct(entry['suc'])} [{_pct(ci[0])}, {_pct(ci[1])}]"


def format_diff(entry: Mapping[str, Any] | None) -> str:
    """A paired difference in SUC points with its interval, e.g. "-4.1 [-6.0, -2.2]*" (* : excludes 0)."""
    if not entry or _missing(entry.get("diff")):
        return "–"
    value = f"{100 * entry['diff']:+.1f}"
    lo, hi = entry.get("ci") or (None, None)
    if _missing(lo) or _missing(hi):
        return value
    return f"{value} [{100 * lo:+.1f}, {100 * hi:+.1f}]" + ("*" if entry.get("excludes_zero") else "")


def protocol_of(report: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The scoring protocol named in a report ({tracker: {...}}); None for reports older than protocols."""
    names = {r.get("protocol") or r.get("overall", {}).get("protocol") for r in report.values()}
    names.discard(None)
    return ", ".join(sorted(names)) if names else None


def results_table(report: Mapping[str, Mapping[str, Any]], title: str = "") -> Table:
    """SUC (with its 95 % bootstrap interval over videos), P, P_norm (and GOT-10k's AO/SR) per tracker
    in percent, best SUC first; the title names the scoring protocol, since figures from different
    protocols are not comparable."""
    protocol = protocol_of(report)
    if protocol:
        title = f"{title} (protocol: {protocol})" if title else f"protocol: {protocol}"
    table = Table(title=title or None)
    for col in ("Tracker", "SUC [95% CI]", "P", "P_norm", "AO", "SR0.5", "SR0.75", "Videos"):
        table.add_column(col, justify="left" if col == "Tracker" else "right")
    order = sorted(report, key=lambda t: -(report[t]["overall"]["suc"]
                                           if not math.isnan(report[t]["overall"]["suc"]) else -1))
    for name in order:
        o = report[name]["overall"]
        table.add_row(name, format_suc(o), _pct(o["prec"]), _pct(o["norm_prec"]), _pct(o["ao"]),
                      _pct(o["sr50"]), _pct(o["sr75"]), str(o["n_videos"]))
    return table


def print_table(report: Mapping[str, Mapping[str, Any]], title: str = "", console: Console | None = None) -> None:
    (console or Console()).print(results_table(report, title))


def jsonable(obj: Any) -> Any:
    """Plain JSON values: NaN/inf become null (JSON has no NaN), numpy scalars become Python."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):
        return jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(report: Mapping[str, Any], path: str | Path) -> Path:
    return atomic_write_json(path, jsonable(report))


def attributes_table(report: Mapping[str, Mapping[str, Any]], title: str = "") -> Table | None:
    """SUC [95% CI] per attribute split (rows, with the video count) and tracker (columns); None if no splits."""
    attrs = sorted({a for r in report.values() for a in r.get("per_attribute", {})})
    if not attrs:
        return None
    table = Table(title=f"{title}: SUC per attribute [95% CI]".lstrip(": "))
    table.add_column("Attribute")
    table.add_column("Videos", justify="right")
    for name in report:
        table.add_column(name, justify="right")
    for a in attrs:
        n = max(r.get("per_attribute", {}).get(a, {}).get("n_videos", 0) for r in report.values())
        table.add_row(a.replace("_", " "), str(n),
                      *(format_suc(r.get("per_attribute", {}).get(a, {})) for r in report.values()))
    return table
