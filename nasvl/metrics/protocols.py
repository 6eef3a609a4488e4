"""Scoring protocols: how each tracking toolkit turns boxes into SUC, P and P_norm.

Toolkits agree on the IoU and on "success = IoU above a threshold, precision = centre error at
most a threshold", and disagree on everything around it. Each protocol here restates one
toolkit's definitions (written from reading their source, not copied); a number is only
comparable with numbers scored under the same protocol, so every report names its protocol.

`got10k` (nasvl's original rules, `nasvl.metrics.ope`): frames whose target is absent or whose
    ground truth is not a box are left out of numerator *and* denominator; videos with no such
    frame are skipped; AO/SR pool the frames after the first. Centre at x + (w-1)/2, success over
    21 thresholds (IoU > t), precision 0..50 px, P_norm with the offset divided by max(1, GT w/h).
`pysot` (pysot-toolkit's OPE benchmark, which the official VLT code uses for LaSOT, TNL2K and
    OTB99-LANG): every frame stays in the denominator. Frames the benchmark flags absent (LaSOT's
    full_occlusion/out_of_view) are taken out of the numerator: a failure on every curve. Of the
    rest, a frame whose GT width or height is not > 0 scores IoU -1 (a failure), and a frame whose
    GT centre has a coordinate <= 0 (0,0,0,0 boxes, NaN) is given distance -1, which counts as a
    *hit* at every precision threshold. NaN predictions fail. Centre x + (w-1)/2; P_norm divides
    both centres by (GT w/h + 1e-16). Thresholds np.arange(0, 1.05, 0.05), 0..50 px, 0..0.50.
    Every video counts in the mean, one with no scorable frame as all failures.
`pytracking` (pytracking's `analysis/extract_results.py`, default settings): the first
    prediction is replaced by the ground truth; a zero-size prediction repeats the previous one;
    NaN or negative-size predictions and NaN ground truth are refused. A frame is valid when all
    four GT numbers are > 0 (and, on LaSOT, the target is visible). Invalid frames score IoU -1
    (failure), centre error +inf (failure) and normalised error -1 (a *hit*), except that LaSOT's
    invisible frames are failures on both precision curves. Every frame stays in the denominator.
    Centre x + (w-1)/2; P_norm divides both centres by GT w/h. Curves are stored as float32, as
    the toolkit stores them; thresholds torch.arange(0, 1.05, 0.05), 0..50 px, 0..0.50.

A missing prediction (a short results file scored with `missing="miss"`) is NaN in `got10k` and
`pysot` (a failure) and a 0,0,0,0 box in `pytracking` (the toolkit pads with zeros).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasvl.errors import DataError, known
from nasvl.metrics import ope

PRECISION_INDEX = 20  # 20 px, and 0.20 on the normalised curve, in every protocol

# The official VLT code reports pysot's OPE on LaSOT, TNL2K and OTB99-LANG; GOT-10k's own server
# and toolkit define AO/SR. The synthetic benchmark is written in LaSOT layout, read as "lasot".
BENCHMARK_DEFAULTS = {"lasot": "pysot", "tnl2k": "pysot", "otb99lang": "pysot", "got10k": "got10k"}
# Datasets whose toolkits take absence from per-frame flags (LaSOT's full_occlusion/out_of_view);
# elsewhere pysot and pytracking only see the boxes.
_FLAGGED = frozenset({"lasot"})


@dataclass(frozen=True)
class Protocol:
    name: str
    toolkit: str
    success_thresholds: np.ndarray
    precision_thresholds: np.ndarray
    norm_thresholds: np.ndarray
    score: Callable[[np.ndarray, np.ndarray, np.ndarray, str], dict[str, Any]]
    skip_unscored_videos: bool  # got10k leaves all-absent videos out of the mean; the others count them
    pooled_ao: bool  # GOT-10k's AO/SR (frames after the first, pooled over videos)


def default_protocol(benchmark: str | None) -> str:
    """The protocol a benchmark's papers report (`got10k` for formats without a convention)."""
    return BENCHMARK_DEFAULTS.get(benchmark or "", "got10k")


def get_protocol(name: str) -> Protocol:
    if name not in PROTOCOLS:
        raise DataError(f"unknown scoring protocol {name!r} {known(PROTOCOLS)}")
    return PROTOCOLS[name]


def _pad(pred: np.ndarray, n: int, fill: float) -> np.ndarray:
    if len(pred) > n:
        raise DataError(f"prediction has {len(pred)} boxes for a {n}-frame sequence")
    return np.vstack([pred, np.full((n - len(pred), 4), fill)]) if len(pred) < n else pred


def _result(succ: np.ndarray, prec: np.ndarray, norm: np.ndarray, ious: np.ndarray, errors: np.ndarray,
            n_valid: int) -> dict[str, Any]:
    return {"success_curve": succ, "suc": float(np.mean(succ)),
            "precision_curve": prec, "prec": float(prec[PRECISION_INDEX]),
            "norm_precision_curve": norm, "norm_prec": float(norm[PRECISION_INDEX]),
            "ious": ious, "center_errors": errors, "n_frames": len(ious), "n_valid": n_valid}


def _got10k(pred: np.ndarray, gt: np.ndarray, absent: np.ndarray, dataset: str) -> dict[str, Any]:
    return ope.evaluate_sequence(pred, gt, absent)


# ---- pysot ---------------------------------------------------------------------------------------

def _pysot_centres(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, :2] + (boxes[:, 2:] - 1) / 2


def _pysot_hits(dist_gt_centres: np.ndarray, pred_centres: np.ndarray, thresholds: np.ndarray,
                n: int) -> np.ndarray:
    # Frames whose GT centre is not strictly positive keep distance -1, below every threshold.
    dist = np.full(len(dist_gt_centres), -1.0)
    with np.errstate(invalid="ignore"):
        mask = (dist_gt_centres > 0).sum(axis=1) == 2
        dist[mask] = np.sqrt(np.sum((dist_gt_centres[mask] - pred_centres[mask]) ** 2, axis=1))
        return (dist[:, None] <= thresholds[None, :]).sum(axis=0) / n


def _pysot(pred: np.ndarray, gt: np.ndarray, absent: np.ndarray, dataset: str) -> dict[str, Any]:
    n = len(gt)
    pred = _pad(pred, n, np.nan)
    keep = ~absent if dataset in _FLAGGED else np.ones(n, bool)
    g, p = gt[keep], pred[keep]
    p_ = PYSOT
    with np.errstate(all="ignore"):
        iou = np.full(len(g), -1.0)
        mask = (g[:, 2:] > 0).sum(axis=1) == 2
        x1 = np.maximum(g[mask, 0], p[mask, 0])
        x2 = np.minimum(g[mask, 0] + g[mask, 2], p[mask, 0] + p[mask, 2])
        y1 = np.maximum(g[mask, 1], p[mask, 1])
        y2 = np.minimum(g[mask, 1] + g[mask, 3], p[mask, 1] + p[mask, 3])
        inter = np.maximum(0, x2 - x1) * np.maximum(0, y2 - y1)
        union = g[mask, 2] * g[mask, 3] + p[mask, 2] * p[mask, 3] - inter
        iou[mask] = np.maximum(np.minimum(1, inter / union), 0)  # NaN stays NaN: never above a threshold
        succ = (iou[:, None] > p_.success_thresholds[None, :]).sum(axis=0) / n
        prec = _pysot_hits(_pysot_centres(g), _pysot_centres(p), p_.precision_thresholds, n)
        wh = g[:, 2:] + 1e-16
        norm = _pysot_hits(_pysot_centres(g) / wh, _pysot_centres(p) / wh, p_.norm_thresholds, n)
    ious = np.full(n, np.nan)
    ious[np.flatnonzero(keep)] = iou
    errors = np.full(n, np.nan)
    errors[np.flatnonzero(keep)[mask]] = np.sqrt(np.sum((_pysot_centres(g[mask]) - _pysot_centres(p[mask])) ** 2,
                                                        axis=1))
    return _result(succ, prec, norm, ious, errors, int(mask.sum()))


# ---- pytracking ----------------------------------------------------------------------------------

def _pytracking(pred: np.ndarray, gt: np.ndarray, absent: np.ndarray, dataset: str) -> dict[str, Any]:
    n = len(gt)
    if np.isnan(gt).any():
        raise DataError("NaN in the ground truth: pytracking's analysis refuses it (use --protocol got10k "
                        "for benchmarks that withhold boxes)")
    pred = pred.copy()
    bad = np.flatnonzero(np.isnan(pred).any(axis=1) | (pred[:, 2:] < 0).any(axis=1))
    if len(bad):
        raise DataError(f"frame {bad[0] + 1}: NaN or negative-size prediction {pred[bad[0]].tolist()}; "
                        f"pytracking's analysis refuses such results (score them with --protocol pysot or got10k)")
    for i in range(1, len(pred)):  # a zero-size box repeats the previous prediction, before any padding
        if (pred[i, 2:] == 0).any():
            pred[i] = pred[i - 1]
    pred = _pad(pred, n, 0.0)  # so padded frames stay 0,0,0,0: misses
    pred[0] = gt[0]
    visible = ~absent if dataset in _FLAGGED else np.ones(n, bool)
    valid = (gt > 0).all(axis=1) & visible
    with np.errstate(all="ignore"):
        pc, gc = pred[:, :2] + 0.5 * (pred[:, 2:] - 1), gt[:, :2] + 0.5 * (gt[:, 2:] - 1)
        err = np.sqrt(np.sum((pc - gc) ** 2, axis=1))
        norm_err = np.sqrt(np.sum((pc / gt[:, 2:] - gc / gt[:, 2:]) ** 2, axis=1))
        tl = np.maximum(pred[:, :2], gt[:, :2])
        br = np.minimum(pred[:, :2] + pred[:, 2:] - 1, gt[:, :2] + gt[:, 2:] - 1)
        inter = np.prod(np.maximum(br - tl + 1, 0), axis=1)
        iou = inter / (np.prod(pred[:, 2:], axis=1) + np.prod(gt[:, 2:], axis=1) - inter)
    err[~valid], norm_err[~valid], iou[~valid] = np.inf, -1.0, -1.0
    if dataset in _FLAGGED:
        err[~visible] = norm_err[~visible] = np.inf
    if np.isnan(iou).any():
        raise DataError("NaN overlap (a zero-area ground-truth box with a zero-area prediction)")
    p_ = PYTRACKING
    # The toolkit keeps per-video curves as float32; round the same way so its figures are reproduced.
    succ = ((iou[:, None] > p_.success_thresholds[None, :]).sum(axis=0) / n).astype(np.float32)
    prec = ((err[:, None] <= p_.precision_thresholds[None, :]).sum(axis=0) / n).astype(np.float32)
    norm = ((norm_err[:, None] <= p_.norm_thresholds[None, :]).sum(axis=0) / n).astype(np.float32)
    ious = np.where(valid, iou, np.nan)
    return _result(succ.astype(np.float64), prec.astype(np.float64), norm.astype(np.float64), ious,
                   np.where(valid, err, np.nan), int(valid.sum()))


def _torch_arange_overlap() -> np.ndarray:
    # torch.arange(0, 1.05, 0.05) rounds two of its 21 values one ulp above numpy's (0.65 and 0.75);
    # an IoU exactly on such a threshold scores differently, so the toolkit's own values are used
    # (tests check them against torch.arange).
    t = np.arange(0, 1.05, 0.05)
    for i in (13, 15):
        t[i] = np.nextafter(t[i], 1.0)
    return t


GOT10K = Protocol("got10k", "got10k toolkit 0.1.3 (nasvl's original rules)", ope.SUCCESS_THRESHOLDS,
                  ope.PRECISION_THRESHOLDS, ope.NORM_PRECISION_THRESHOLDS, _got10k,
                  skip_unscored_videos=True, pooled_ao=True)
PYSOT = Protocol("pysot", "pysot-toolkit OPE benchmark", np.arange(0, 1.05, 0.05),
                 np.arange(0, 51, 1).astype(np.float64), np.arange(0, 51, 1) / 100, _pysot,
                 skip_unscored_videos=False, pooled_ao=False)
PYTRACKING = Protocol("pytracking", "pytracking analysis/extract_results.py", _torch_arange_overlap(),
                      np.arange(0, 51, dtype=np.float64), np.arange(0, 51, dtype=np.float64) / 100.0,
                      _pytracking, skip_unscored_videos=False, pooled_ao=False)
PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (GOT10K, PYSOT, PYTRACKING)}
PROTOCOL_NAMES: tuple[str, ...] = tuple(sorted(PROTOCOLS))


def score_sequence(protocol: str | Protocol, pred: Any, gt: Any, absent: Any = None,
                   dataset: str = "") -> dict[str, Any]:
    """One video's figures under `protocol`; same keys as `nasvl.metrics.ope.evaluate_sequence`."""
    p = get_protocol(protocol) if isinstance(protocol, str) else protocol
    g = ope._as_boxes(gt, "ground truth")
    pr = ope._as_boxes(pred, "prediction")
    a = np.zeros(len(g), bool) if absent is None else np.asarray(absent, dtype=bool)
    if a.shape != (len(g),):
        raise DataError(f"absent flags have shape {a.shape}, expected ({len(g)},)")
    return p.score(pr, g, a, dataset)
