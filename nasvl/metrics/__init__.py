"""Tracking metrics: OPE per sequence and per dataset, results IO, tables and plots.

`evaluate_sequence` follows the GOT-10k toolkit's definitions (see `nasvl.metrics.ope`);
`evaluate_dataset(..., protocol=)` scores under a named toolkit's rules: `got10k` (the default,
nasvl's original rules), `pysot` or `pytracking` (see `nasvl.metrics.protocols`).
"""

from __future__ import annotations

from nasvl.metrics.dataset import evaluate_dataset, evaluate_tracker
from nasvl.metrics.ope import (
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    center_error,
    evaluate_sequence,
    normalized_center_error,
    rect_iou,
)
from nasvl.metrics.protocols import PROTOCOL_NAMES, default_protocol, score_sequence
from nasvl.metrics.results_io import list_trackers, read_results, result_path, write_results

__all__ = [
    "NORM_PRECISION_THRESHOLDS", "PRECISION_THRESHOLDS", "PROTOCOL_NAMES", "SUCCESS_THRESHOLDS", "center_error",
    "default_protocol", "evaluate_dataset", "evaluate_sequence", "evaluate_tracker", "list_trackers",
    "normalized_center_error", "read_results", "rect_iou", "result_path", "score_sequence", "write_results",
]
