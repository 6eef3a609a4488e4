"""Dataset-level scoring, results files in pysot/LaSOT layout, and `nasvl eval` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from nasvl.cli import main
from nasvl.data import Video, load_dataset
from nasvl.data.synth import SynthConfig, generate
from nasvl.errors import DataError
from nasvl.metrics import evaluate_dataset, evaluate_sequence, list_trackers, read_results, write_results


def _video(name: str, boxes: np.ndarray, absent: np.ndarray | None = None, **attrs: object) -> Video:
    n = len(boxes)
    return Video(name=name, frames=[Path(f"{name}/{i}.jpg") for i in range(n)], boxes=np.asarray(boxes, float),
                 absent=np.zeros(n, bool) if absent is None else absent, attributes=dict(attrs), dataset="t")


@pytest.fixture()
def videos() -> list[Video]:
    rng = np.random.default_rng(0)
    a = np.column_stack([rng.uniform(0, 100, 30), rng.uniform(0, 100, 30), rng.uniform(10, 40, (30, 2))])
    b = a[:20] + 3
    gone = _video("gone", a[:5], absent=np.ones(5, bool), out_of_view=True)
    return [_video("a", a, fast_motion=True, out_of_view=False), _video("b", b, fast_motion=False), gone]


def test_overall_is_mean_of_per_video_curves(videos: list[Video]) -> None:
    preds = {"a": videos[0].boxes + 2.0, "b": videos[1].boxes * 1.05, "gone": videos[2].boxes}
    report = evaluate_dataset(videos, {"t1": preds})["t1"]
    ra, rb = (evaluate_sequence(preds[v.name], v.boxes) for v in videos[:2])
    assert report["per_video"]["a"]["suc"] == pytest.approx(ra["suc"])
    np.testing.assert_allclose(report["overall"]["success_curve"], (ra["success_curve"] + rb["success_curve"]) / 2)
    assert report["overall"]["suc"] == pytest.approx((ra["suc"] + rb["suc"]) / 2)
    assert report["overall"]["n_videos"] == 2  # the all-absent video is skipped, not scored 0
    assert np.isnan(report["per_video"]["gone"]["suc"])
    # AO/SR pool the frames after the first (GOT-10k), so they weigh frames, not videos
    pooled = np.concatenate([ra["ious"][1:], rb["ious"][1:]])
    assert report["overall"]["ao"] == pytest.approx(pooled.mean())
    assert report["overall"]["sr50"] == pytest.approx((pooled > 0.5).mean())
    assert report["overall"]["sr75"] == pytest.approx((pooled > 0.75).mean())
    assert report["overall"]["n_frames"] == 29 + 19


def test_per_attribute_breakdown(videos: list[Video]) -> None:
    preds = {v.name: v.boxes for v in videos}
    report = evaluate_dataset(videos, {"oracle": preds})["oracle"]
    assert set(report["per_attribute"]) == {"fast_motion", "out_of_view"}
    assert report["per_attribute"]["fast_motion"]["n_videos"] == 1
    assert report["per_attribute"]["out_of_view"]["n_videos"] == 0  # only the all-absent video has it


def test_got10k_ao_clips_to_the_image(tmp_path: Path) -> None:
    gt = np.array([[0, 0, 10, 10], [90, 90, 10, 10]], float)
    pred = np.array([[0, 0, 10, 10], [90, 90, 20, 20]], float)  # half outside a 100×100 image
    v = _video("g", gt, resolution="(100, 100)")
    ao = evaluate_dataset([v], {"t": {"g": pred}})["t"]["overall"]["ao"]
    assert ao == pytest.approx(1.0)  # clipped to the image the prediction matches exactly


def test_results_round_trip_and_other_toolkits(tmp_path: Path) -> None:
    boxes = np.array([[1.5, 2.25, 30, 40], [np.nan, np.nan, np.nan, np.nan], [1e6, -3, 0.1234567, 4]])
    path = write_results(tmp_path, "mine", "car-1", boxes)
    assert path == tmp_path / "mine" / "car-1.txt"
    assert path.read_text().splitlines()[:2] == ["1.5,2.25,30,40", "nan,nan,nan,nan"]
    np.testing.assert_allclose(read_results(tmp_path, "mine", "car-1"), boxes, atol=1e-4, equal_nan=True)
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "car-1.txt").write_text("1\t2\t3\t4\n5 6 7 8\n")  # pytracking writes tabs
    np.testing.assert_array_equal(read_results(tmp_path, "theirs", "car-1"), [[1, 2, 3, 4], [5, 6, 7, 8]])
    got = tmp_path / "siamfc" / "car-1"
    got.mkdir(parents=True)
    (got / "car-1_001.txt").write_text("1,2,3,4\n")  # GOT-10k's layout
    assert read_results(tmp_path, "siamfc", "car-1").shape == (1, 4)
    assert list_trackers(tmp_path) == ["mine", "siamfc", "theirs"]
    with pytest.raises(DataError, match=r"mine/bus-2.txt: no results for this video"):
        read_results(tmp_path, "mine", "bus-2")
    (tmp_path / "mine" / "bad.txt").write_text("1,2,3,4\n1,2,x,4\n")
    with pytest.raises(DataError, match=r"bad.txt:2: not a number"):
        read_results(tmp_path, "mine", "bad")
    with pytest.raises(DataError, match="results exist already"):
        write_results(tmp_path, "mine", "car-1", boxes, overwrite=False)


def test_missing_results_error_or_miss(tmp_path: Path, videos: list[Video]) -> None:
    write_results(tmp_path, "t", "a", videos[0].boxes)
    with pytest.raises(DataError, match=r"t/b.txt: no results for this video"):
        evaluate_dataset(videos, tmp_path)
    report = evaluate_dataset(videos, tmp_path, ["t"], missing="miss")["t"]
    assert report["per_video"]["b"]["suc"] == 0.0 and report["per_video"]["a"]["suc"] == pytest.approx(20 / 21)
    write_results(tmp_path, "t", "b", videos[0].boxes)  # 30 boxes for the 20-frame video b
    with pytest.raises(DataError, match=r"t/b.txt: 30 boxes for a 20-frame video"):
        evaluate_dataset(videos, tmp_path, ["t"], missing="miss")
    with pytest.raises(DataError, match=r"video b: prediction has 30 boxes"):
        evaluate_dataset(videos, {"m": {v.name: videos[0].boxes for v in videos}})


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = SynthConfig(train_videos=1, val_videos=1, test_videos=5, min_frames=20, max_frames=30,
                      width=192, height=144, coco_images=0)
    return generate(tmp_path_factory.mktemp("eval") / "synth", seed=0, config=cfg, workers=1)


def test_nasvl_eval_on_synthetic_test_split(synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results"
    assert main(["data", "baseline", "--dataset", str(synth / "test"), "--format", "lasot",
                 "--results", str(results)]) == 0
    # a second trivial tracker: the first box, shifted by 5 px
    for v in load_dataset(synth / "test", "lasot"):
        write_results(results, "shifted", v.name, np.repeat(v.boxes[:1] + [5, 5, 0, 0], len(v), axis=0))
    capsys.readouterr()
    out_json = tmp_path / "report.json"
    assert main(["eval", "--dataset", str(synth / "test"), "--format", "lasot", "--results", str(results),
                 "--trackers", "first_box,shifted", "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    for word in ("Tracker", "SUC", "P_norm", "first_box", "shifted", "5 videos"):
        assert word in printed
    plots = tmp_path / "plots"
    for name in ("success.png", "precision.png", "norm_precision.png", "attributes.png"):
        img = cv2.imread(str(plots / name))
        assert img is not None and img.shape[0] > 200, name
    report = json.loads(out_json.read_text())
    assert report["n_videos"] == 5 and set(report["trackers"]) == {"first_box", "shifted"}
    first = report["trackers"]["first_box"]["overall"]
    assert 0 < first["suc"] < 1 and len(first["success_curve"]) == 21 and len(first["precision_curve"]) == 51


def test_nasvl_eval_reports_missing_results_cleanly(synth: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "results" / "empty").mkdir(parents=True)
    code = main(["eval", "--dataset", str(synth / "test"), "--format", "lasot", "--results",
                 str(tmp_path / "results"), "--trackers", "empty"])
    assert code == 2 and "no results for this video" in capsys.readouterr().err
