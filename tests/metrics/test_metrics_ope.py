"""OPE metrics against the official GOT-10k toolkit (`got10k` 0.1.3) and on hard cases."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from nasvl.errors import DataError
from nasvl.metrics import (
    NORM_PRECISION_THRESHOLDS,
    center_error,
    evaluate_sequence,
    normalized_center_error,
    rect_iou,
)

# got10k 0.1.3 imports `six` in its dataset modules but does not declare it; the metric
# code we compare against does not use it, so a stand-in suffices when six is missing.
try:
    import six  # noqa: F401
except ImportError:
    _six = types.ModuleType("six")
    _six.string_types = (str,)  # type: ignore[attr-defined]
    sys.modules["six"] = _six

from got10k.experiments.got10k import ExperimentGOT10k  # noqa: E402
from got10k.experiments.otb import ExperimentOTB  # noqa: E402
from got10k.utils import metrics as official  # noqa: E402

TOL = 1e-9


def _boxes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    gt = np.column_stack([rng.uniform(0, 300, n), rng.uniform(0, 200, n), rng.uniform(2, 120, (n, 2))])
    noise = rng.normal(0, 1, (n, 4)) * np.array([15, 15, 10, 10]) * rng.uniform(0, 3, (n, 1))
    pred = gt + noise
    pred[:, 2:] = np.maximum(pred[:, 2:], 0.5)
    return pred, gt


def _otb() -> ExperimentOTB:
    exp = ExperimentOTB.__new__(ExperimentOTB)  # skip the dataset download in __init__
    exp.nbins_iou, exp.nbins_ce = 21, 51
    return exp


def _lasot_norm_center_error(rects1: np.ndarray, rects2: np.ndarray) -> np.ndarray:
    # The toolkit's LaSOT experiment (got10k >= 0.1.4, absent from 0.1.3), transcribed.
    centers1 = rects1[..., :2] + (rects1[..., 2:] - 1) / 2
    centers2 = rects2[..., :2] + (rects2[..., 2:] - 1) / 2
    return np.sqrt(np.sum(np.power((centers1 - centers2) / np.maximum(np.array([[1.0, 1.0]]), rects2[:, 2:]), 2),
                          axis=-1))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_iou_and_centre_error_match_got10k(seed: int) -> None:
    pred, gt = _boxes(np.random.default_rng(seed), 400)
    np.testing.assert_allclose(rect_iou(pred, gt), official.rect_iou(pred.copy(), gt.copy()), rtol=0, atol=TOL)
    np.testing.assert_allclose(center_error(pred, gt), official.center_error(pred, gt), rtol=0, atol=TOL)
    np.testing.assert_allclose(normalized_center_error(pred, gt), _lasot_norm_center_error(pred, gt), rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_curves_match_experiment_otb(seed: int) -> None:
    pred, gt = _boxes(np.random.default_rng(seed), 300)
    ours = evaluate_sequence(pred, gt)
    succ, prec = _otb()._calc_curves(official.rect_iou(pred.copy(), gt.copy()), official.center_error(pred, gt))
    np.testing.assert_allclose(ours["success_curve"], succ, rtol=0, atol=TOL)
    np.testing.assert_allclose(ours["precision_curve"], prec, rtol=0, atol=TOL)
    assert ours["suc"] == pytest.approx(np.mean(succ), abs=TOL)
    assert ours["prec"] == pytest.approx(prec[20], abs=TOL)
    nce = _lasot_norm_center_error(pred, gt)
    norm_curve = np.mean(nce[:, None] <= np.linspace(0, 0.5, 51)[None, :], axis=0)
    np.testing.assert_allclose(ours["norm_precision_curve"], norm_curve, rtol=0, atol=TOL)
    assert ours["norm_prec"] == pytest.approx(norm_curve[20], abs=TOL)
    assert NORM_PRECISION_THRESHOLDS[20] == pytest.approx(0.2)


def test_absent_frames_are_left_out_like_the_toolkits() -> None:
    pred, gt = _boxes(np.random.default_rng(5), 200)
    absent = np.zeros(200, bool)
    absent[40:70] = True
    gt[100] = np.nan  # invalid ground truth (the LaSOT experiment drops NaN rows)
    gt[101] = [5, 5, 0, 0]
    ours = evaluate_sequence(pred, gt, absent)
    keep = ~absent
    keep[100:102] = False
    succ, prec = _otb()._calc_curves(official.rect_iou(pred[keep].copy(), gt[keep].copy()),
                                     official.center_error(pred[keep], gt[keep]))
    np.testing.assert_allclose(ours["success_curve"], succ, rtol=0, atol=TOL)
    np.testing.assert_allclose(ours["precision_curve"], prec, rtol=0, atol=TOL)
    assert ours["n_valid"] == keep.sum() and np.isnan(ours["ious"][absent]).all()


def test_ao_and_success_rate_match_got10k_evaluate() -> None:
    pred, gt = _boxes(np.random.default_rng(9), 250)
    ious = evaluate_sequence(pred, gt)["ious"]
    exp = ExperimentGOT10k.__new__(ExperimentGOT10k)
    ao, sr, _, _ = exp._evaluate(official.rect_iou(pred.copy(), gt.copy()), np.array([]))
    assert np.mean(ious) == pytest.approx(ao, abs=TOL) and np.mean(ious > 0.5) == pytest.approx(sr, abs=TOL)


def test_perfect_tracker() -> None:
    gt = np.array([[10, 10, 20, 30], [12, 11, 20, 30]], float)
    r = evaluate_sequence(gt, gt)
    # IoU 1 never exceeds the last threshold (1.0, strict >): SUC of a perfect tracker is 20/21
    assert r["suc"] == pytest.approx(20 / 21) and r["prec"] == 1.0 and r["norm_prec"] == 1.0


def test_empty_prediction_counts_every_frame_as_a_miss() -> None:
    gt = np.array([[10, 10, 20, 30]] * 5, float)
    for empty in (np.zeros((0, 4)), [], np.array([])):
        r = evaluate_sequence(empty, gt)
        assert r["suc"] == 0.0 and r["prec"] == 0.0 and r["norm_prec"] == 0.0 and r["n_valid"] == 5
    short = evaluate_sequence(gt[:2], gt)  # stopped after two frames
    assert short["prec"] == pytest.approx(2 / 5)


def test_degenerate_predictions_are_misses_not_errors() -> None:
    gt = np.array([[10, 10, 20, 30]] * 6, float)
    pred = np.array([[np.nan, 10, 20, 30], [10, 10, 0, 30], [10, 10, -20, 30], [1e300, 1e300, 1e300, 1e300],
                     [-1e9, 5, 20, 30], [np.inf, 10, 20, 30]])
    with np.errstate(all="raise"):  # no floating-point warning may escape either
        r = evaluate_sequence(pred, gt)
    np.testing.assert_array_equal(r["ious"], 0.0)
    assert np.isinf(r["center_errors"]).sum() == 5 and r["center_errors"][4] > 1e8
    assert r["suc"] == 0.0 and r["prec"] == 0.0 and r["norm_prec"] == 0.0


def test_tiny_boxes() -> None:
    gt = np.array([[5.0, 5.0, 0.5, 0.5], [5.0, 5.0, 1e-3, 2e-3]])
    pred = gt + np.array([[0.1, 0, 0, 0], [0, 0, 0, 0]])
    r = evaluate_sequence(pred, gt)
    np.testing.assert_allclose(r["ious"], official.rect_iou(pred.copy(), gt.copy()), atol=TOL)
    assert r["ious"][1] == pytest.approx(1.0, abs=1e-6)
    # normalised error divides by max(1, size): sub-pixel boxes are not blown up
    assert normalized_center_error(pred, gt)[0] == pytest.approx(0.1)


def test_all_absent_video_is_nan_not_zero() -> None:
    gt = np.array([[10, 10, 20, 30]] * 4, float)
    r = evaluate_sequence(gt, gt, absent=np.ones(4, bool))
    assert r["n_valid"] == 0 and np.isnan(r["suc"]) and np.isnan(r["prec"]) and np.isnan(r["norm_prec"])
    assert r["success_curve"].shape == (21,) and r["precision_curve"].shape == (51,)


def test_shape_errors() -> None:
    gt = np.zeros((3, 4)) + [0, 0, 5, 5]
    with pytest.raises(DataError, match="prediction has 4 boxes for a 3-frame sequence"):
        evaluate_sequence(np.zeros((4, 4)), gt)
    with pytest.raises(DataError, match="expected an N×4 array"):
        evaluate_sequence(np.zeros((3, 5)), gt)
    with pytest.raises(DataError, match="absent flags have shape"):
        evaluate_sequence(gt, gt, absent=[True])
