"""Scoring a tracker over a benchmark under a named protocol (`nasvl.metrics.protocols`):
per-video figures, overall figures, GOT-10k's AO/SR and a per-attribute breakdown.

Averaging follows the toolkits: overall curves are the mean of per-video curves
(OTB/LaSOT/pysot/pytracking), so SUC/P/P_norm weigh videos equally. Under `got10k`
videos without a scored frame are skipped, and AO and SR pool the IoUs of all scored
frames after the first (GOT-10k, whose first frame is the initialisation), so they
weigh frames equally; `pysot` and `pytracking` count every video and define no AO/SR
(reported as null). Every report carries its protocol's name.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasvl.data.video import Video
from nasvl.errors import DataError
from nasvl.metrics.bootstrap import bootstrap_mean
from nasvl.metrics.ope import NORM_PRECISION_INDEX, PRECISION_INDEX, evaluate_sequence
from nasvl.metrics.protocols import GOT10K, Protocol, get_protocol, score_sequence
from nasvl.metrics.results_io import NO_RESULTS, list_trackers, read_results, result_path

_CURVES = ("success_curve", "precision_curve", "norm_precision_curve")
# Boolean tags whose complement is a split of its own: "the description is needed" only means
# something next to the videos where it is not.
COMPLEMENTS = {"description_needed": "description_not_needed"}


def _bound(video: Video) -> tuple[float, float] | None:
    """GOT-10k clips boxes to the image (its `resolution` meta) before the IoU for AO."""
    res = video.attributes.get("resolution")
    if isinstance(res, str):
        try:
            w, h = ast.literal_eval(res)
            return float(w), float(h)
        except (ValueError, SyntaxError, TypeError):
            return None
    return None


def _clip(boxes: np.ndarray, bound: tuple[float, float]) -> np.ndarray:
    out = boxes.copy()
    out[:, 0] = np.clip(out[:, 0], 0, bound[0])
    out[:, 1] = np.clip(out[:, 1], 0, bound[1])
    out[:, 2] = np.clip(out[:, 2], 0, bound[0] - out[:, 0])
    out[:, 3] = np.clip(out[:, 3], 0, bound[1] - out[:, 1])
    return out


def _summary(per_video: Sequence[dict[str, Any]], protocol: Protocol = GOT10K) -> dict[str, Any]:
    scored = [r for r in per_video if r["n_valid"] > 0 or not protocol.skip_unscored_videos]
    if not scored:
        nan = float("nan")
        return {"suc": nan, "suc_ci": [nan, nan], "ci_note": "no videos", "prec": nan, "norm_prec": nan,
                "n_videos": 0, "protocol": protocol.name,
                **{k: [nan] * len(per_video[0][k]) if per_video else [] for k in _CURVES}}
    mean = {k: np.mean([r[k] for r in scored], axis=0) for k in _CURVES}
    # SUC is the mean of per-video SUCs, so its interval is the bootstrap over those videos.
    ci = bootstrap_mean([r["suc"] for r in scored])
    return {"suc": float(np.mean(mean["success_curve"])), "suc_ci": [ci.lo, ci.hi],
            **({"ci_note": ci.note} if ci.note else {}),
            "prec": float(mean["precision_curve"][PRECISION_INDEX]),
            "norm_prec": float(mean["norm_precision_curve"][NORM_PRECISION_INDEX]), "n_videos": len(scored),
            "protocol": protocol.name, **{k: v.tolist() for k, v in mean.items()}}


def _ao_ious(video: Video, pred: np.ndarray, result: dict[str, Any]) -> np.ndarray:
    bound = _bound(video)
    if bound is None:
        ious = result["ious"]
    else:
        n = len(video)
        padded = np.vstack([pred, np.full((n - len(pred), 4), np.nan)]) if len(pred) < n else pred
        ious = evaluate_sequence(_clip(padded, bound), _clip(video.boxes, bound), video.absent)["ious"]
    tail = ious[1:]
    return tail[np.isfinite(tail)]


def attribute_splits(videos: Sequence[Video]) -> dict[str, list[str]]:
    """{attribute: names of the videos that have it} for every boolean attribute some video has,
    plus the complement of each tag in `COMPLEMENTS` (e.g. description_not_needed)."""
    out: dict[str, list[str]] = {}
    keys = sorted({k for v in videos for k, x in v.attributes.items() if isinstance(x, bool)})
    for key in keys:
        members = [v.name for v in videos if v.attributes.get(key) is True]
        if members:
            out[key] = members
        if key in COMPLEMENTS:
            rest = [v.name for v in videos if v.attributes.get(key) is False]
            if rest:
                out[COMPLEMENTS[key]] = rest
    return out


def evaluate_tracker(videos: Sequence[Video], predictions: Mapping[str, np.ndarray],
                     protocol: str = "got10k") -> dict[str, Any]:
    """Figures for one tracker under `protocol`; `predictions` maps video name -> N×4 xywh boxes."""
    proto = get_protocol(protocol)
    per_video: dict[str, dict[str, Any]] = {}
    pooled = []
    for video in videos:
        pred = np.asarray(predictions[video.name], dtype=np.float64)
        try:
            r = score_sequence(proto, pred, video.boxes, video.absent, video.dataset)
        except DataError as exc:
            raise DataError(f"video {video.name}: {exc}") from None
        if proto.pooled_ao:
            pooled.append(_ao_ious(video, pred.reshape(-1, 4), r))
        per_video[video.name] = {"suc": r["suc"], "prec": r["prec"], "norm_prec": r["norm_prec"],
                                 "n_frames": r["n_frames"], "n_valid": r["n_valid"],
                                 **{k: r[k].tolist() for k in _CURVES}}
    ious = np.concatenate(pooled) if pooled else np.zeros(0)
    overall = _summary(list(per_video.values()), proto)
    overall.update(
        ao=float(ious.mean()) if len(ious) else float("nan"),
        sr50=float((ious > 0.5).mean()) if len(ious) else float("nan"),
        sr75=float((ious > 0.75).mean()) if len(ious) else float("nan"),
        n_frames=int(len(ious)),
    )
    per_attribute = {}
    for key, members in attribute_splits(videos).items():
        per_attribute[key] = _summary([per_video[name] for name in members], proto)
    return {"protocol": proto.name, "overall": overall, "per_video": per_video, "per_attribute": per_attribute}


def evaluate_dataset(videos: Sequence[Video], results: str | Path | Mapping[str, Mapping[str, np.ndarray]],
                     trackers: Sequence[str] | None = None, *, missing: str = "error",
                     protocol: str = "got10k") -> dict[str, dict[str, Any]]:
    """Score every tracker on `videos`; returns {tracker: {"protocol", "overall", "per_video", "per_attribute"}}.

    `protocol` names the toolkit whose definitions are used (`nasvl.metrics.protocols`;
    `default_protocol(format)` gives the one a benchmark's papers report).

    `results` is a pysot/LaSOT results folder (`<results>/<tracker>/<video>.txt`) or an
    in-memory {tracker: {video: boxes}}. A video without results, or a results file with
    fewer rows than the video has frames, raises a `DataError` naming the file, unless
    `missing="miss"` scores the missing frames as misses. More rows than frames, and
    unparsable rows, are errors in both modes.
    """
    if missing not in ("error", "miss"):
        raise ValueError(f"missing must be 'error' or 'miss', got {missing!r}")
    get_protocol(protocol)  # an unknown name fails before any file is read
    if isinstance(results, str | Path):
        names = list(trackers) if trackers else list_trackers(results)
        if not names:
            raise DataError("no tracker results found (expected <results>/<tracker>/<video>.txt)", file=str(results))
        loaded: dict[str, dict[str, np.ndarray]] = {}
        for name in names:
            loaded[name] = {}
            for video in videos:
                try:
                    boxes = read_results(results, name, video.name, max_rows=len(video))
                except DataError as exc:
                    if exc.rule != NO_RESULTS or missing == "error" or not (Path(results) / name).is_dir():
                        raise
                    boxes = np.zeros((0, 4))
                else:
                    if len(boxes) < len(video) and missing == "error":
                        # A short or empty file is a tracker that stopped or a run cut short: scoring
                        # it silently would report a figure for a run that never finished.
                        raise DataError(f"{len(boxes)} boxes for a {len(video)}-frame video (pass --missing miss "
                                        f"to score the missing frames as misses)",
                                        file=str(result_path(results, name, video.name)))
                loaded[name][video.name] = boxes
        source: Mapping[str, Mapping[str, np.ndarray]] = loaded
    else:
        source = results
        names = list(trackers) if trackers else list(results)
    report = {}
    for name in names:
        if name not in source:
            raise DataError(f"no results for tracker {name!r}")
        preds = dict(source[name])
        for video in videos:
            if video.name not in preds:
                if missing == "error":
                    raise DataError(f"tracker {name!r} has no results for video {video.name!r}")
                preds[video.name] = np.zeros((0, 4))
        report[name] = evaluate_tracker(videos, preds, protocol)
    return report
