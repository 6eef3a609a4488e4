"""Paired comparisons of scored runs on the same videos: trackers against a reference, and one
VL tracker's language modes against its correct-description run (the language-sensitivity report).

A VL tracker that reads its description loses SUC when the description is withheld or swapped;
one that ignores it scores the same in every mode (differences of exactly 0, interval [0, 0]).
The modes:

- `correct`: each video's own description (videos without one use the configured fallback);
- `none`: no description, the paper's zeros in place of the sentence embedding;
- `deranged`: another video's description, from a fixed seeded derangement in which no video
  keeps its own sentence (nor, when the sentences allow it, an identical one). Videos without a
  description stay without one, as in `correct`;
- `template`: no description, the template embedding in its place (`language_fallback: template`).

Every difference is `mode - correct` (or `tracker - reference`) in SUC, with a paired bootstrap
interval over videos (`nasvl.metrics.bootstrap`), overall and on the `description_needed` videos
and their complement.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from rich.table import Table

from nasvl.data.video import Video
from nasvl.language.encoder import has_description
from nasvl.metrics.bootstrap import Interval, bootstrap_mean, paired_bootstrap_diff
from nasvl.metrics.dataset import COMPLEMENTS, attribute_splits
from nasvl.metrics.report import format_diff, format_suc

LanguageMode = Literal["correct", "none", "deranged", "template"]
LANGUAGE_MODES: tuple[LanguageMode, ...] = ("correct", "none", "deranged", "template")
DERANGEMENT_SEED = 0
# The splits every difference is also reported on (when the videos carry the tag).
DIFF_SPLITS = tuple(k for pair in COMPLEMENTS.items() for k in pair)


def derange_descriptions(videos: Sequence[Video], seed: int = DERANGEMENT_SEED
                         ) -> tuple[dict[str, str | None], dict[str, Any]]:
    """{video: another video's description} and what was done (counts and a note).

    Described videos are shuffled (seeded), equal sentences are grouped, and each video takes
    the sentence `m` places on, `m` being the largest group: no video keeps its own sentence or
    an identical one when no sentence is shared by more than half of the videos.
    """
    described = [v for v in videos if has_description(v.description)]
    texts: dict[str, str | None] = {v.name: None for v in videos}
    info: dict[str, Any] = {"seed": seed, "n_deranged": 0, "n_without_description": len(videos) - len(described),
                            "n_same_text": 0}
    n = len(described)
    if n < 2:
        info["note"] = "fewer than two videos have a description: nothing to derange"
        return texts, info
    order = list(range(n))
    random.Random(seed).shuffle(order)
    first: dict[str, int] = {}
    for pos, i in enumerate(order):
        first.setdefault(described[i].description, pos)  # type: ignore[arg-type]
    order.sort(key=lambda i: first[described[i].description])  # type: ignore[index]  # stable: groups
    largest = max(sum(1 for v in described if v.description == t) for t in first)
    shift = largest if largest <= n // 2 else 1
    for pos, i in enumerate(order):
        texts[described[i].name] = described[order[(pos + shift) % n]].description
    info["n_deranged"] = n
    info["n_same_text"] = sum(texts[v.name] == v.description for v in described)
    notes = []
    if info["n_without_description"]:
        notes.append(f"{info['n_without_description']} video(s) have no description and are tracked without "
                     "one in this mode, as in 'correct'")
    if info["n_same_text"]:
        notes.append(f"{info['n_same_text']} video(s) received a sentence identical to their own "
                     "(one sentence describes more than half of the videos)")
    if notes:
        info["note"] = "; ".join(notes)
    return texts, info


def mode_inputs(mode: LanguageMode, videos: Sequence[Video], fallback: str,
                deranged: Mapping[str, str | None]) -> tuple[dict[str, str | None], str]:
    """The description each video is tracked with in `mode`, and the language fallback to use."""
    if mode == "correct":
        return {v.name: v.description for v in videos}, fallback
    if mode == "deranged":
        return dict(deranged), fallback
    if mode == "none":
        return {v.name: None for v in videos}, "zeros"
    if mode == "template":
        return {v.name: None for v in videos}, "template"
    raise ValueError(f"unknown language mode {mode!r} (known: {', '.join(LANGUAGE_MODES)})")


def _suc(report: Mapping[str, Any], names: Sequence[str]) -> list[float]:
    return [report["per_video"][n]["suc"] for n in names]


def paired_suc(other: Mapping[str, Any], reference: Mapping[str, Any], names: Sequence[str]) -> Interval:
    """SUC of `other` minus SUC of `reference` (two `evaluate_tracker` reports) over the videos `names`."""
    return paired_bootstrap_diff(_suc(other, names), _suc(reference, names))


def _split_names(videos: Sequence[Video]) -> dict[str, list[str]]:
    splits = attribute_splits(videos)
    return {"overall": [v.name for v in videos], **{k: splits[k] for k in DIFF_SPLITS if k in splits}}


def _diffs(other: Mapping[str, Any], reference: Mapping[str, Any], splits: Mapping[str, list[str]]
           ) -> dict[str, Any]:
    return {split: paired_suc(other, reference, names).as_diff() for split, names in splits.items()}


def tracker_differences(report: Mapping[str, Mapping[str, Any]], videos: Sequence[Video],
                        reference: str | None = None) -> dict[str, Any]:
    """Each tracker's SUC minus the reference's (default: the first), with paired intervals."""
    names = list(report)
    if not names:
        return {}
    reference = reference or names[0]
    splits = _split_names(videos)
    return {"reference": reference, "measure": "SUC(tracker) - SUC(reference)",
            "vs": {t: _diffs(report[t], report[reference], splits) for t in names if t != reference}}


def language_sensitivity(mode_reports: Mapping[str, Mapping[str, Any]], videos: Sequence[Video],
                         derangement: Mapping[str, Any]) -> dict[str, Any]:
    """The sensitivity report of one tracker from its `evaluate_tracker` report per mode ("correct" required)."""
    splits = _split_names(videos)
    correct = mode_reports["correct"]
    modes: dict[str, Any] = {}
    for mode, rep in mode_reports.items():
        entry: dict[str, Any] = {"overall": {k: rep["overall"][k] for k in ("suc", "suc_ci", "n_videos", "prec",
                                                                            "norm_prec")}}
        entry["splits"] = {s: bootstrap_mean(_suc(rep, names)).as_suc() for s, names in splits.items()
                           if s != "overall"}
        entry["per_video_suc"] = {n: rep["per_video"][n]["suc"] for n in splits["overall"]}
        if mode != "correct":
            entry["diff_vs_correct"] = _diffs(rep, correct, splits)
        modes[mode] = entry
    return {"measure": "SUC(mode) - SUC(correct)", "modes": modes, "derangement": dict(derangement)}


# ---- tables ------------------------------------------------------------------------------------

def differences_table(differences: Mapping[str, Any], title: str = "") -> Table:
    """Δ SUC of each tracker against the reference, overall and by the needed tag (* : CI excludes 0)."""
    splits = _present(d for d in differences.get("vs", {}).values())
    table = Table(title=f"{title}: Δ SUC vs {differences.get('reference')} [95% paired CI]".lstrip(": "))
    table.add_column("Tracker")
    for s in splits:
        table.add_column(_label(s), justify="right")
    for tracker, d in differences.get("vs", {}).items():
        table.add_row(tracker, *(format_diff(d.get(s)) for s in splits))
    return table


def sensitivity_table(tracker: str, report: Mapping[str, Any], title: str = "") -> Table:
    """SUC per language mode and its Δ from the correct description, overall and by the needed tag."""
    modes = report["modes"]
    splits = _present(m.get("diff_vs_correct", {}) for m in modes.values()) or ["overall"]
    table = Table(title=f"{title}: language sensitivity of {tracker} [95% CI]".lstrip(": "))
    table.add_column("Mode")
    for s in splits:
        table.add_column(f"SUC {_label(s)}", justify="right")
        table.add_column(f"Δ {_label(s)}", justify="right")
    for mode, m in modes.items():
        cells = []
        for s in splits:
            cells.append(format_suc(m["overall"] if s == "overall" else m["splits"].get(s, {})))
            cells.append(format_diff(m.get("diff_vs_correct", {}).get(s)) if mode != "correct" else "")
        table.add_row(mode, *cells)
    return table


def _present(entries: Any) -> list[str]:
    keys: list[str] = []
    for e in entries:
        keys += [k for k in e if k not in keys]
    return keys


def _label(split: str) -> str:
    return {"overall": "all", "description_needed": "needed", "description_not_needed": "not needed"}.get(
        split, split.replace("_", " "))
