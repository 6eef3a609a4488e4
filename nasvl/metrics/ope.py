"""One-pass evaluation (OPE) of one sequence: IoU, centre error and their curves.

Definitions agree with the GOT-10k toolkit (`got10k` 0.1.3) on visible frames:

- IoU as `rect_iou` (intersection / (union + eps), clipped to [0, 1]);
- centre error as `center_error`, with the centre of a box at x + (w - 1)/2;
- success curve over `linspace(0, 1, 21)` with IoU *strictly greater* than the
  threshold, SUC = its mean (the AUC); precision curve over 0..50 px with error
  *at most* the threshold, P = value at 20 px (`ExperimentOTB._calc_curves`);
- normalised precision as the toolkit's LaSOT experiment: centre offset divided per
  axis by max(1, GT w/h), thresholds `linspace(0, 0.5, 51)`, P_norm at index 20 (0.2).

The rule for frames that cannot be scored (one rule for every benchmark):

- a frame counts only when the target is present (`absent` false) and the ground
  truth is valid (finite, width > 0 and height > 0). Other frames are left out of
  numerator and denominator alike, as LaSOT's toolkit drops NaN ground truth and
  GOT-10k's drops frames with cover 0. Their per-frame values are NaN;
- a video with no such frame (all absent) has NaN curves and scores and
  `n_valid == 0`; dataset averages skip it rather than count it as 0 or 1;
- degenerate predictions (NaN/inf, zero or negative size, absurd coordinates) are
  misses: IoU 0 and centre error +inf, never an error. A prediction shorter than
  the ground truth (a tracker that stopped, an empty file) is padded with misses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasvl.errors import DataError

SUCCESS_THRESHOLDS = np.linspace(0, 1, 21)
PRECISION_THRESHOLDS = np.arange(0, 51, dtype=np.float64)
NORM_PRECISION_THRESHOLDS = np.linspace(0, 0.5, 51)
PRECISION_INDEX = 20  # 20 px
NORM_PRECISION_INDEX = 20  # 0.2
_EPS = np.finfo(float).eps


def _as_boxes(boxes: Any, name: str) -> np.ndarray:
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 4))
    if arr.ndim == 1 and arr.shape[0] == 4:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise DataError(f"{name}: expected an N×4 array of x,y,w,h, got shape {arr.shape}")
    return arr


def degenerate(boxes: np.ndarray) -> np.ndarray:
    """Rows that cannot be a box: non-finite values or a non-positive width/height."""
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(boxes).all(axis=1) | ~(boxes[:, 2] > 0) | ~(boxes[:, 3] > 0)


def rect_iou(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-row IoU of xywh boxes; degenerate predictions give 0."""
    with np.errstate(all="ignore"):
        x1 = np.maximum(pred[:, 0], gt[:, 0])
        y1 = np.maximum(pred[:, 1], gt[:, 1])
        x2 = np.minimum(pred[:, 0] + pred[:, 2], gt[:, 0] + gt[:, 2])
        y2 = np.minimum(pred[:, 1] + pred[:, 3], gt[:, 1] + gt[:, 3])
        inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
        union = pred[:, 2] * pred[:, 3] + gt[:, 2] * gt[:, 3] - inter
        iou = np.clip(inter / (union + _EPS), 0.0, 1.0)
    iou[degenerate(pred) | ~np.isfinite(iou)] = 0.0
    return iou


def _centers(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, :2] + (boxes[:, 2:] - 1) / 2


def center_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-row Euclidean distance of box centres in pixels; degenerate predictions give +inf."""
    with np.errstate(all="ignore"):
        err = np.sqrt(np.sum((_centers(pred) - _centers(gt)) ** 2, axis=-1))
    err[degenerate(pred) | ~np.isfinite(err)] = np.inf
    return err


def normalized_center_error(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Centre offset divided per axis by max(1, GT w/h), then its norm (LaSOT's P_norm)."""
    with np.errstate(all="ignore"):
        scale = np.maximum(1.0, gt[:, 2:])
        err = np.sqrt(np.sum(((_centers(pred) - _centers(gt)) / scale) ** 2, axis=-1))
    err[degenerate(pred) | ~np.isfinite(err)] = np.inf
    return err


def valid_frames(gt: np.ndarray, absent: np.ndarray | None = None) -> np.ndarray:
    """Frames that are scored: target present and ground truth a real box."""
    ok = ~degenerate(gt)
    return ok if absent is None else ok & ~np.asarray(absent, dtype=bool)


def curves(ious: np.ndarray, center_errors: np.ndarray,
           norm_center_errors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Success (IoU > thr), precision (error <= thr px) and normalised precision curves."""
    if len(ious) == 0:
        return (np.full(len(SUCCESS_THRESHOLDS), np.nan), np.full(len(PRECISION_THRESHOLDS), np.nan),
                np.full(len(NORM_PRECISION_THRESHOLDS), np.nan))
    succ = np.mean(ious[:, None] > SUCCESS_THRESHOLDS[None, :], axis=0)
    prec = np.mean(center_errors[:, None] <= PRECISION_THRESHOLDS[None, :], axis=0)
    norm = np.mean(norm_center_errors[:, None] <= NORM_PRECISION_THRESHOLDS[None, :], axis=0)
    return succ, prec, norm


def evaluate_sequence(pred_xywh: Any, gt_xywh: Any, absent: Any = None) -> dict[str, Any]:
    """OPE figures of one sequence (see the module docstring for the frame rule).

    Returns `success_curve` (21,), `suc`, `precision_curve` (51,), `prec`,
    `norm_precision_curve` (51,), `norm_prec`, per-frame `ious` / `center_errors`
    (NaN where not scored), `n_frames` and `n_valid`.
    """
    gt = _as_boxes(gt_xywh, "ground truth")
    pred = _as_boxes(pred_xywh, "prediction")
    n = len(gt)
    if len(pred) > n:
        raise DataError(f"prediction has {len(pred)} boxes for a {n}-frame sequence")
    if len(pred) < n:
        pred = np.vstack([pred, np.full((n - len(pred), 4), np.nan)])
    if absent is not None and np.asarray(absent).shape != (n,):
        raise DataError(f"absent flags have shape {np.asarray(absent).shape}, expected ({n},)")
    valid = valid_frames(gt, absent)
    ious = np.full(n, np.nan)
    errors = np.full(n, np.nan)
    ious[valid] = rect_iou(pred[valid], gt[valid])
    errors[valid] = center_error(pred[valid], gt[valid])
    norm = normalized_center_error(pred[valid], gt[valid])
    succ, prec, nprec = curves(ious[valid], errors[valid], norm)
    return {
        "success_curve": succ, "suc": float(np.mean(succ)),
        "precision_curve": prec, "prec": float(prec[PRECISION_INDEX]),
        "norm_precision_curve": nprec, "norm_prec": float(nprec[NORM_PRECISION_INDEX]),
        "ious": ious, "center_errors": errors,
        "n_frames": n, "n_valid": int(valid.sum()),
    }
