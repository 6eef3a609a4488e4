"""Tracking a benchmark with exported trackers and scoring them: the evaluate step, `nasvl eval
--export` and the ablation all call `evaluate_exports` / `evaluate_videos`.

Frames are decoded once and shared by every tracker and language mode. Each tracker's boxes go
to `out_dir/results/<tracker>/<video>.txt` (pysot layout, so `nasvl eval --results` re-scores
them), a VL tracker's extra language modes to `results/<tracker>.<mode>/`. `out_dir/report.json`
holds the evaluation:

    {"protocol", "n_videos", "trackers": {name: evaluate_tracker report},
     "differences": tracker_differences(...),            # each tracker vs the first, paired CIs
     "language_sensitivity": {name: language_sensitivity(...) | {"skipped": why}}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from nasvl.config.paths import resolve_path
from nasvl.data.video import Video
from nasvl.errors import ConfigError
from nasvl.jobs.spec import EvalDataset
from nasvl.metrics.sensitivity import LANGUAGE_MODES, LanguageMode
from nasvl.train.config import LanguageConfig

FIRST_BOX = "first-box"


def evaluate_exports(exports: Mapping[str, str], ds: EvalDataset, out_dir: Path, *, job_file: str | None,
                     language: LanguageConfig, device: str = "cpu", use_language: bool = True,
                     language_fallback: str = "zeros", first_box: bool = False,
                     language_modes: Sequence[LanguageMode] = LANGUAGE_MODES,
                     reference: str | None = None, runtime: str = "torch") -> dict[str, Any]:
    """Load `ds`, track it with each export ({name: export dir}) and score; returns the evaluation."""
    from nasvl.data.registry import load_dataset
    from nasvl.language import embedding_cache
    from nasvl.metrics.protocols import default_protocol

    videos = load_dataset(resolve_path(ds.root, job_file), ds.format, ds.split, strict=True)
    videos = videos[: ds.max_videos] if ds.max_videos else videos
    cache = embedding_cache(language.cache_dir, language.model)
    return evaluate_videos(exports, videos, out_dir, cache=cache, benchmark=ds.benchmark,
                           protocol=ds.protocol or default_protocol(ds.format), device=device,
                           use_language=use_language, language_fallback=language_fallback, first_box=first_box,
                           language_modes=language_modes, reference=reference, runtime=runtime)


def _no_sensitivity(net: Any, use_language: bool) -> str | None:
    """Why a tracker gets no language-sensitivity report (None: it gets one)."""
    if net.space.mixer is None:
        return f"its network has no language input (space {net.space.name!r} has no mixer)"
    if not use_language:
        return "evaluated with use_language: false (its main run has no descriptions to compare with)"
    return None


def evaluate_videos(exports: Mapping[str, str], videos: Sequence[Video], out_dir: Path, *, cache: Any,
                    benchmark: str | None, protocol: str, device: str = "cpu", use_language: bool = True,
                    language_fallback: str = "zeros", first_box: bool = False,
                    language_modes: Sequence[LanguageMode] = LANGUAGE_MODES,
                    reference: str | None = None, runtime: str = "torch") -> dict[str, Any]:
    """Track `videos` with each export, in every language mode for VL trackers, score, write report.json.

    `cache` embeds descriptions (an `EmbeddingCache`, or anything with `warm(texts)` and `get(text)`);
    `reference` is the tracker the others are compared with (default: the first).
    """
    from nasvl.export import load_subnet
    from nasvl.metrics.dataset import evaluate_dataset
    from nasvl.metrics.report import write_json
    from nasvl.metrics.results_io import write_results
    from nasvl.metrics.sensitivity import (
        derange_descriptions,
        language_sensitivity,
        mode_inputs,
        tracker_differences,
    )
    from nasvl.tracking.calibration import ensure_onnx
    from nasvl.tracking.run import track_videos
    from nasvl.tracking.tracker import build_tracker

    modes = list(dict.fromkeys(("correct", *language_modes))) if language_modes else []
    names = [*exports, *([FIRST_BOX] if first_box else [])]
    if reference is not None and reference not in names:
        raise ConfigError(f"reference tracker {reference!r} is none of the trackers ({', '.join(names)})")
    clash = sorted({f"{t}.{m}" for t in exports for m in modes} & set(names))
    if clash:
        raise ConfigError(f"tracker name(s) {clash} clash with the results folders of language modes "
                          "(<tracker>.<mode>): rename the tracker")
    deranged, derangement = derange_descriptions(videos)
    if use_language or modes:
        cache.warm([v.description for v in videos])  # derangement reuses the same sentences
    results = out_dir / "results"
    frames = {v.name: [v.frame(i) for i in range(len(v))] for v in videos}  # decoded once for all runs
    runs: dict[str, dict[str, str]] = {}
    skipped: dict[str, str] = {}

    def run(net: Any, export: str, folder: str, texts: Mapping[str, str | None] | None, fallback: str,
            embed: Any) -> None:
        tracker = build_tracker(net, benchmark=benchmark, embed_text=embed, device=device,
                                language_fallback=fallback, runtime=runtime, model_dir=export)  # type: ignore[arg-type]
        for video, boxes in track_videos(tracker, videos, frames, texts).items():
            write_results(results, folder, video, boxes)

    onnx = runtime in ("onnx", "onnx-int8")
    left_out = {"template": "the ONNX graphs take a sentence embedding; the template fallback is computed "
                            "in torch only"} if onnx and "template" in modes else {}
    modes = [m for m in modes if m not in left_out]
    for name, export in exports.items():
        ensure_onnx(export, runtime)
        net = load_subnet(export, device)
        correct = {v.name: v.description for v in videos} if use_language else None
        run(net, export, name, correct, language_fallback, cache.get if use_language else None)
        if not modes:
            continue
        reason = _no_sensitivity(net, use_language)
        if reason is not None:
            skipped[name] = reason
            continue
        runs[name] = {"correct": name}
        for mode in modes[1:]:
            texts, fallback = mode_inputs(mode, videos, language_fallback, deranged)
            run(net, export, f"{name}.{mode}", texts, fallback, cache.get)
            runs[name][mode] = f"{name}.{mode}"
    if first_box:
        for video in videos:
            write_results(results, FIRST_BOX, video.name, np.repeat(video.boxes[:1], len(video), axis=0))
    extra = [folder for by_mode in runs.values() for mode, folder in by_mode.items() if mode != "correct"]
    scored = evaluate_dataset(videos, results, trackers=[*names, *extra], protocol=protocol)
    report = {n: scored[n] for n in names}
    sensitivity: dict[str, Any] = {}
    for name in exports:
        if name in runs:
            sensitivity[name] = language_sensitivity({m: scored[f] for m, f in runs[name].items()}, videos,
                                                     derangement)
        elif name in skipped:
            sensitivity[name] = {"skipped": skipped[name]}
    evaluation = {"protocol": protocol, "runtime": runtime, "n_videos": len(videos), "trackers": report,
                  **({"language_modes_left_out": left_out} if left_out else {}),
                  "differences": tracker_differences(report, videos, reference) if len(names) > 1 else {},
                  "language_sensitivity": sensitivity}
    write_json(evaluation, out_dir / "report.json")
    return evaluation


def print_evaluation(evaluation: Mapping[str, Any], title: str = "", console: Console | None = None) -> None:
    """The evaluation's tables: SUC [CI] per tracker, per attribute, the paired differences and the
    language sensitivity of each VL tracker (or why it has none)."""
    from nasvl.metrics.report import attributes_table, results_table
    from nasvl.metrics.sensitivity import differences_table, sensitivity_table

    console = console or Console()
    if "trackers" not in evaluation:  # a report.json written before evaluations had sections
        console.print(results_table(evaluation, title))
        return
    console.print(results_table(evaluation["trackers"], title))
    attrs = attributes_table(evaluation["trackers"], title)
    if attrs is not None:
        console.print(attrs)
    if evaluation.get("differences", {}).get("vs"):
        console.print(differences_table(evaluation["differences"], title))
    for name, sens in evaluation.get("language_sensitivity", {}).items():
        if "skipped" in sens:
            console.print(f"language sensitivity of {name}: skipped, {sens['skipped']}")
            continue
        console.print(sensitivity_table(name, sens, title))
        if sens.get("derangement", {}).get("note"):
            console.print(f"  deranged mode: {sens['derangement']['note']}")
    console.print("Δ: paired difference in SUC points (mode − correct, tracker − reference); \\[lo, hi]: 95 % "
                  "bootstrap interval over videos; *: the interval excludes 0")
