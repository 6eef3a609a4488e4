"""PNG plots of an evaluation with matplotlib (Agg, no display needed): success,
precision and normalised precision curves, and a per-attribute SUC breakdown."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from nasvl.io import atomic_write
from nasvl.metrics.protocols import GOT10K, PROTOCOLS, Protocol
from nasvl.metrics.report import protocol_of

_CURVES = (
    ("success", "success_curve", "suc", "success_thresholds", "Overlap threshold", "Success rate",
     "Success plot of OPE"),
    ("precision", "precision_curve", "prec", "precision_thresholds", "Location error threshold (px)", "Precision",
     "Precision plot of OPE"),
    ("norm_precision", "norm_precision_curve", "norm_prec", "norm_thresholds",
     "Normalised location error threshold", "Normalised precision", "Normalised precision plot of OPE"),
)


def _protocol(report: Mapping[str, Mapping[str, Any]]) -> tuple[Protocol, str]:
    name = protocol_of(report)
    return PROTOCOLS.get(name or "", GOT10K), f" [{name}]" if name else ""


def _save(fig: Figure, path: Path) -> Path:
    # Figure without pyplot renders through the Agg canvas and keeps no global state.
    return atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=120, bbox_inches="tight"))


def plot_curves(report: Mapping[str, Mapping[str, Any]], out_dir: str | Path, title: str = "") -> list[Path]:
    """One PNG per curve kind; trackers sorted by their score, the score in the legend."""
    out_dir = Path(out_dir)
    written = []
    protocol, tag = _protocol(report)
    for stem, key, score, attr, xlabel, ylabel, heading in _CURVES:
        xs = getattr(protocol, attr)
        fig = Figure(figsize=(6, 4.5))
        ax = fig.add_subplot()
        order = sorted(report, key=lambda t: -np.nan_to_num(report[t]["overall"][score], nan=-1))
        for name in order:
            overall = report[name]["overall"]
            ax.plot(xs, overall[key], label=f"{name} [{overall[score]:.3f}]")
        ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(xs[0], xs[-1]), ylim=(0, 1),
               title=f"{heading}{' on ' + title if title else ''}{tag}")
        ax.grid(True, alpha=0.4)
        ax.legend(loc="lower left" if stem == "success" else "lower right", fontsize=8)
        written.append(_save(fig, out_dir / f"{stem}.png"))
    return written


def plot_attributes(report: Mapping[str, Mapping[str, Any]], out_path: str | Path, title: str = "") -> Path | None:
    """Grouped bars of SUC per attribute (with the video count); None if no attributes."""
    attrs = sorted({a for r in report.values() for a in r["per_attribute"]})
    if not attrs:
        return None
    trackers = list(report)
    fig = Figure(figsize=(max(6, 1.2 * len(attrs) + 2), 4.5))
    ax = fig.add_subplot()
    width = 0.8 / len(trackers)
    xs = np.arange(len(attrs))
    for k, name in enumerate(trackers):
        values = [report[name]["per_attribute"].get(a, {}).get("suc", np.nan) for a in attrs]
        ax.bar(xs + (k - (len(trackers) - 1) / 2) * width, values, width, label=name)
    counts = [max(r["per_attribute"].get(a, {}).get("n_videos", 0) for r in report.values()) for a in attrs]
    ax.set_xticks(xs, [f"{a.replace('_', ' ')}\n({n})" for a, n in zip(attrs, counts, strict=True)],
                  fontsize=8, rotation=0)
    tag = _protocol(report)[1]
    ax.set(ylabel="SUC (AUC)", ylim=(0, 1), title=f"SUC per attribute{' on ' + title if title else ''}{tag}")
    ax.grid(True, axis="y", alpha=0.4)
    ax.legend(fontsize=8)
    return _save(fig, Path(out_path))
