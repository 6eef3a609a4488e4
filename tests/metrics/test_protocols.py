"""Scoring protocols against their toolkits' definitions on the cases where toolkits disagree.

The references below are per-frame loops written from each toolkit's rules (pysot-toolkit's
`ope_benchmark.py`/`statistics.py`, pytracking's `analysis/extract_results.py` and
`plot_results.py`), independent of the vectorised code under test; the small cases are
worked out by hand in the comments.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nasvl.cli import main
from nasvl.data import Video
from nasvl.errors import DataError
from nasvl.metrics import evaluate_dataset, evaluate_sequence, write_results
from nasvl.metrics.protocols import PROTOCOLS, PYSOT, PYTRACKING, default_protocol, score_sequence

NAN = float("nan")


def _video(name: str, boxes: list | np.ndarray, absent: list | None = None, dataset: str = "lasot") -> Video:
    b = np.asarray(boxes, float)
    return Video(name=name, frames=[Path(f"{name}/{i}.jpg") for i in range(len(b))], boxes=b,
                 absent=np.zeros(len(b), bool) if absent is None else np.asarray(absent, bool), dataset=dataset)


# ---- independent references ----------------------------------------------------------------------

def _overlap(p: list[float], g: list[float]) -> float:
    iw = max(0.0, min(p[0] + p[2], g[0] + g[2]) - max(p[0], g[0]))
    ih = max(0.0, min(p[1] + p[3], g[1] + g[3]) - max(p[1], g[1]))
    union = p[2] * p[3] + g[2] * g[3] - iw * ih
    return iw * ih / union


def ref_pysot(pred: np.ndarray, gt: np.ndarray, flagged: np.ndarray) -> tuple[list, list, list]:
    """pysot OPE: flagged frames are dropped but stay in the denominator; masks on GT size/centre."""
    n = len(gt)
    succ, prec, norm = [0.0] * 21, [0.0] * 51, [0.0] * 51
    for i in range(n):
        if flagged[i]:
            continue
        g, p = [float(v) for v in gt[i]], [float(v) for v in pred[i]]
        if g[2] > 0 and g[3] > 0:
            with np.errstate(all="ignore"):
                iou = _overlap(p, g) if not any(math.isnan(v) for v in p) else NAN
            iou = NAN if math.isnan(iou) else max(min(1.0, iou), 0.0)
            for k in range(21):
                succ[k] += iou > k * 0.05  # NaN compares False: a failure
        for curve, scale in ((prec, (1.0, 1.0)), (norm, (g[2] + 1e-16, g[3] + 1e-16))):
            gc = [(g[0] + (g[2] - 1) / 2) / scale[0], (g[1] + (g[3] - 1) / 2) / scale[1]]
            pc = [(p[0] + (p[2] - 1) / 2) / scale[0], (p[1] + (p[3] - 1) / 2) / scale[1]]
            d = math.hypot(gc[0] - pc[0], gc[1] - pc[1]) if gc[0] > 0 and gc[1] > 0 else -1.0
            for k in range(51):
                curve[k] += d <= (k if curve is prec else k / 100)
    return [s / n for s in succ], [s / n for s in prec], [s / n for s in norm]


def ref_pytracking(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray | None) -> tuple[list, list, list]:
    """pytracking extract_results with its defaults (exclude_invalid_frames=False)."""
    n = len(gt)
    p = [list(map(float, r)) for r in pred]
    for i in range(1, n):
        if p[i][2] == 0 or p[i][3] == 0:
            p[i] = list(p[i - 1])
    p[0] = list(map(float, gt[0]))
    thr_overlap = [float(t) for t in __import__("torch").arange(0.0, 1.05, 0.05, dtype=__import__("torch").float64)]
    succ, prec, norm = [0.0] * 21, [0.0] * 51, [0.0] * 51
    for i in range(n):
        g = list(map(float, gt[i]))
        vis = True if visible is None else bool(visible[i])
        valid = all(v > 0 for v in g) and vis
        if valid:
            iou = _overlap(p[i], g)
            pc = [p[i][0] + 0.5 * (p[i][2] - 1), p[i][1] + 0.5 * (p[i][3] - 1)]
            gc = [g[0] + 0.5 * (g[2] - 1), g[1] + 0.5 * (g[3] - 1)]
            err = math.hypot(pc[0] - gc[0], pc[1] - gc[1])
            nerr = math.hypot(pc[0] / g[2] - gc[0] / g[2], pc[1] / g[3] - gc[1] / g[3])
        else:
            iou, err, nerr = -1.0, math.inf, -1.0
            if visible is not None and not vis:  # LaSOT: invisible frames fail both precision curves
                nerr = math.inf
        for k in range(21):
            succ[k] += iou > thr_overlap[k]
        for k in range(51):
            prec[k] += err <= k
            norm[k] += nerr <= k / 100
    return [s / n for s in succ], [s / n for s in prec], [s / n for s in norm]


# ---- hand-worked cases ---------------------------------------------------------------------------

GT4 = [[10, 10, 20, 20], [12, 10, 20, 20], [0, 0, 0, 0], [14, 10, 20, 20]]


def test_pysot_counts_flagged_absent_frames_as_failures_in_the_denominator() -> None:
    gt = np.array(GT4, float)
    r = score_sequence("pysot", gt, gt, [False, False, True, False], dataset="lasot")
    # 3 of 4 frames hit at every IoU threshold but 1.0 (IoU 1 is not > 1), and at every pixel threshold
    np.testing.assert_allclose(r["success_curve"], [0.75] * 20 + [0.0])
    assert r["suc"] == pytest.approx(0.75 * 20 / 21) and r["prec"] == 0.75 and r["norm_prec"] == 0.75
    g = evaluate_sequence(gt, gt, [False, False, True, False])  # got10k: the absent frame is left out
    assert g["suc"] == pytest.approx(20 / 21) and g["prec"] == 1.0


def test_pysot_unflagged_empty_box_fails_success_but_hits_precision() -> None:
    # OTB/TNL2K have no flags in pysot: a 0,0,0,0 box has IoU -1 (miss) and centre (-0.5, -0.5), which is
    # masked to distance -1 and so counts as a hit at every threshold.
    gt = np.array(GT4, float)
    pred = gt + [100, 100, 0, 0]  # every real frame far off
    r = score_sequence("pysot", pred, gt, [False, False, True, False], dataset="otb99lang")
    np.testing.assert_allclose(r["success_curve"], np.zeros(21))
    np.testing.assert_allclose(r["precision_curve"], np.full(51, 0.25))
    np.testing.assert_allclose(r["norm_precision_curve"], np.full(51, 0.25))


def test_pysot_nan_and_zero_size_cases() -> None:
    gt = np.array([[10, 10, 20, 20], [NAN, NAN, NAN, NAN], [30, 5, 0, 8], [10, 10, 20, 20]], float)
    pred = np.array([[10, 10, 20, 20], [10, 10, 20, 20], [29.5, 5, 1, 8], [NAN, NAN, NAN, NAN]], float)
    r = score_sequence("pysot", pred, gt, dataset="tnl2k")
    # frame 0 hits all; NaN GT: IoU miss, centre masked -> precision hit; zero-width GT: IoU miss, but its
    # centre (29.5, 8.5) is positive, so the distance to the prediction's centre (29.5, 8.5) is 0: a hit;
    # NaN prediction: miss everywhere.
    np.testing.assert_allclose(r["success_curve"], [0.25] * 20 + [0.0])
    np.testing.assert_allclose(r["precision_curve"], np.full(51, 0.75))


def test_pytracking_first_frame_zero_size_and_invalid_frames() -> None:
    gt = np.array([[10, 10, 20, 20], [12, 10, 20, 20], [0, 10, 20, 20], [14, 10, 20, 20], [16, 10, 20, 20]], float)
    pred = np.array([[500, 500, 5, 5],     # replaced by the GT: a hit
                     [12, 10, 20, 20],     # exact
                     [0, 10, 20, 20],      # GT x = 0 is invalid: IoU -1, error inf, normalised error -1 (hit)
                     [99, 99, 0, 0],       # zero size repeats frame 2's box (0,10,20,20): IoU 6/34 vs GT 3
                     [16, 10, 20, 20]], float)
    r = score_sequence("pytracking", pred, gt, dataset="otb99lang")
    iou3 = 6 * 20 / (800 - 6 * 20)  # inclusive pixels: columns 14..19 overlap
    expect = [(3 * (1.0 > t) + (iou3 > t)) / 5 for t in PYTRACKING.success_thresholds]
    np.testing.assert_allclose(r["success_curve"], np.float32(expect), rtol=1e-6)
    # frame 3's centres are 14 px apart: a hit at 20 px; frame 2 (invalid) has error +inf: 4/5
    assert r["prec"] == pytest.approx(4 / 5) and r["precision_curve"][13] == pytest.approx(3 / 5)
    # normalised: frame 3 is 14/20 = 0.7 off (a miss), frame 2's -1 is a hit: 4/5
    assert r["norm_prec"] == pytest.approx(4 / 5)


def test_pytracking_lasot_invisible_frames_fail_every_curve() -> None:
    gt = np.array(GT4, float)
    absent = [False, True, True, False]
    r = score_sequence("pytracking", gt, gt, absent, dataset="lasot")
    assert r["prec"] == 0.5 and r["norm_prec"] == 0.5 and r["success_curve"][0] == 0.5
    # the same boxes without LaSOT's flags: frame 2 is an invalid box, whose normalised error -1 hits
    r = score_sequence("pytracking", gt, gt, absent, dataset="otb99lang")
    assert r["prec"] == 0.75 and r["norm_prec"] == 1.0


def test_pytracking_refuses_nan_predictions_and_nan_ground_truth() -> None:
    gt = np.array(GT4[:2], float)
    with pytest.raises(DataError, match="frame 2: NaN or negative-size prediction"):
        score_sequence("pytracking", [[10, 10, 20, 20], [NAN] * 4], gt)
    with pytest.raises(DataError, match="NaN in the ground truth"):
        score_sequence("pytracking", gt, [[10, 10, 20, 20], [NAN] * 4])


def test_short_predictions_are_padded_the_toolkit_way() -> None:
    gt = np.array([[10, 10, 20, 20]] * 4, float)
    pysot = score_sequence("pysot", gt[:2], gt, dataset="lasot")
    assert pysot["prec"] == 0.5  # NaN padding: misses
    pyt = score_sequence("pytracking", gt[:2], gt, dataset="lasot")
    # zero padding, then the repeat rule runs before the padding in the toolkit: padded boxes stay 0,0,0,0
    assert pyt["success_curve"][0] == pytest.approx(0.5)


# ---- randomised comparison with the references ---------------------------------------------------

def _random_case(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 40
    gt = np.column_stack([rng.uniform(-5, 60, n), rng.uniform(-5, 60, n), rng.uniform(0, 30, (n, 2))])
    gt[rng.random(n) < 0.15] = 0.0
    gt[rng.random(n) < 0.05, 2] = 0.0
    pred = gt + rng.normal(0, 6, (n, 4))
    pred[:, 2:] = np.abs(pred[:, 2:])
    pred[rng.random(n) < 0.1, 2:] = 0.0
    pred[rng.random(n) < 0.2] += rng.uniform(20, 60, 2).tolist() + [0, 0]  # some far misses
    flags = rng.random(n) < 0.1
    return pred, gt, flags


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dataset", ["lasot", "tnl2k"])
def test_pysot_matches_reference(seed: int, dataset: str) -> None:
    pred, gt, flags = _random_case(seed)
    pred[seed % 7] = NAN
    absent = flags | (gt[:, 2] <= 0) | (gt[:, 3] <= 0)  # what nasvl's readers hand over
    r = score_sequence("pysot", pred, gt, absent, dataset=dataset)
    succ, prec, norm = ref_pysot(pred, gt, absent if dataset == "lasot" else np.zeros(len(gt), bool))
    np.testing.assert_allclose(r["success_curve"], succ)
    np.testing.assert_allclose(r["precision_curve"], prec)
    np.testing.assert_allclose(r["norm_precision_curve"], norm)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("dataset", ["lasot", "otb99lang"])
def test_pytracking_matches_reference(seed: int, dataset: str) -> None:
    pred, gt, flags = _random_case(seed)
    gt[0] = [5, 5, 10, 10]
    absent = flags | (gt[:, 2] <= 0) | (gt[:, 3] <= 0)
    r = score_sequence("pytracking", pred, gt, absent, dataset=dataset)
    succ, prec, norm = ref_pytracking(pred, gt, ~absent if dataset == "lasot" else None)
    np.testing.assert_allclose(r["success_curve"], succ, rtol=1e-6)
    np.testing.assert_allclose(r["precision_curve"], prec, rtol=1e-6)
    np.testing.assert_allclose(r["norm_precision_curve"], norm, rtol=1e-6)


def test_thresholds_are_the_toolkits_own_values() -> None:
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(PYTRACKING.success_thresholds,
                                  torch.arange(0.0, 1.05, 0.05, dtype=torch.float64).numpy())
    np.testing.assert_array_equal(PYSOT.success_thresholds, np.arange(0, 1.05, 0.05))
    assert (PYTRACKING.success_thresholds != PYSOT.success_thresholds).sum() == 2  # 0.65 and 0.75
    np.testing.assert_array_equal(PYSOT.norm_thresholds, np.arange(0, 51) / 100)
    # an IoU of exactly 0.65 or 0.75 (a 65×100 or 75×100 box inside 100×100) is not above either
    # toolkit's threshold at that index, but above the one before it
    gt = np.array([[1, 1, 100, 100]] * 2, float)
    for k, w in ((13, 65.0), (15, 75.0)):
        pred = [[1, 1, 100, 100], [1, 1, w, 100]]
        for name in ("pysot", "pytracking"):
            curve = score_sequence(name, pred, gt)["success_curve"]
            assert curve[k] == 0.5 and curve[k - 1] == 1.0, (name, k)
    # pytracking: a GT box touching the left border (x = 0) is not a valid frame at all
    assert score_sequence("pytracking", [[0, 1, 100, 100]] * 2, [[0, 1, 100, 100]] * 2)["success_curve"][0] == 0


# ---- dataset level: averaging and every report naming its protocol -------------------------------

def test_dataset_averaging_per_protocol() -> None:
    gt = np.array(GT4, float)
    videos = [_video("a", gt, [False, False, True, False]), _video("gone", gt[:2], [True, True])]
    preds = {"a": gt, "gone": gt[:2]}
    got = evaluate_dataset(videos, {"t": preds}, protocol="got10k")["t"]
    pys = evaluate_dataset(videos, {"t": preds}, protocol="pysot")["t"]
    assert got["protocol"] == got["overall"]["protocol"] == "got10k" and pys["overall"]["protocol"] == "pysot"
    assert got["overall"]["n_videos"] == 1 and got["overall"]["suc"] == pytest.approx(20 / 21)
    # pysot counts the all-absent video as all failures: (0.75 + 0) / 2 at every threshold below 1
    assert pys["overall"]["n_videos"] == 2 and pys["overall"]["prec"] == pytest.approx(0.375)
    assert pys["overall"]["suc"] == pytest.approx(0.375 * 20 / 21)
    assert math.isnan(pys["overall"]["ao"])  # AO/SR are GOT-10k's figures only
    with pytest.raises(DataError, match="unknown scoring protocol 'vot'"):
        evaluate_dataset(videos, {"t": preds}, protocol="vot")


def test_benchmark_defaults() -> None:
    assert {f: default_protocol(f) for f in ("lasot", "tnl2k", "otb99lang", "got10k", "folder")} == {
        "lasot": "pysot", "tnl2k": "pysot", "otb99lang": "pysot", "got10k": "got10k", "folder": "got10k"}
    assert set(PROTOCOLS) == {"got10k", "pysot", "pytracking"}


def _lasot_dataset(root: Path) -> list[np.ndarray]:
    import cv2

    boxes = []
    for name in ("car-1", "car-2"):
        seq = root / "car" / name
        (seq / "img").mkdir(parents=True)
        for i in range(5):
            cv2.imwrite(str(seq / "img" / f"{i + 1:08d}.jpg"), np.full((40, 60, 3), 90, np.uint8))
        b = np.array([[5 + i, 6, 20, 15] for i in range(5)], float)
        b[3] = 0
        (seq / "groundtruth.txt").write_text("".join(",".join(str(int(v)) for v in r) + "\n" for r in b))
        (seq / "out_of_view.txt").write_text("0,0,0,1,0\n")
        boxes.append(b)
    return boxes


def test_nasvl_eval_protocol_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boxes = _lasot_dataset(tmp_path / "ds")
    for name, b in zip(("car-1", "car-2"), boxes, strict=True):
        write_results(tmp_path / "results", "t", name, b + [1, 0, 0, 0])
    reports = {}
    for protocol in (None, "got10k", "pysot", "pytracking"):
        out = tmp_path / f"{protocol}.json"
        args = ["eval", "--dataset", str(tmp_path / "ds"), "--format", "lasot", "--results",
                str(tmp_path / "results"), "--json", str(out), "--plots", str(tmp_path / "plots")]
        assert main(args + (["--protocol", protocol] if protocol else [])) == 0
        printed = capsys.readouterr().out
        reports[protocol] = json.loads(out.read_text())
        assert f"protocol: {protocol or 'pysot'}" in printed
        assert reports[protocol]["protocol"] == (protocol or "pysot")
    assert reports[None]["trackers"] == reports["pysot"]["trackers"]  # LaSOT's default is pysot
    # pysot: 4 of 5 frames scored, the out-of-view one fails; got10k leaves it out
    assert reports["pysot"]["trackers"]["t"]["overall"]["prec"] == pytest.approx(0.8)
    assert reports["got10k"]["trackers"]["t"]["overall"]["prec"] == pytest.approx(1.0)
    # pytracking replaces the first box by the GT: 4 of 5 frames within 20 px, out-of-view one fails
    assert reports["pytracking"]["trackers"]["t"]["overall"]["prec"] == pytest.approx(0.8)
    assert math.isnan(reports["pysot"]["trackers"]["t"]["overall"]["ao"] or NAN)
