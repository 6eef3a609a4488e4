"""The language-sensitivity report on real tiny trackers: one whose boxes depend on the text, one
that ignores it, one without language; the derangement; `nasvl eval --export`; the ablation table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nasvl.cli import main
from nasvl.data.registry import load_dataset
from nasvl.data.synth import SynthConfig, generate
from nasvl.data.video import Video
from nasvl.export import save_subnet
from nasvl.jobs.evaluate import evaluate_videos
from nasvl.metrics.sensitivity import derange_descriptions
from nasvl.supernet.mixer import ModaMixer
from tests.trackers.conftest import fake_embed, sample_arch, tiny_supernet


class FakeCache:
    """The language cache's interface over a deterministic text → vector map (no BERT)."""

    def __init__(self) -> None:
        self.get = fake_embed(384)

    def warm(self, texts: object) -> int:
        return 0


@pytest.fixture(scope="module")
def test_split(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = SynthConfig(train_videos=1, val_videos=1, test_videos=8, min_frames=10, max_frames=14, width=160,
                      height=120, coco_images=0)
    return generate(tmp_path_factory.mktemp("sens") / "synth", seed=1, config=cfg, workers=1) / "test"


def _export(folder: Path, space: str, language_scale: float | None = None) -> str:
    net, s = tiny_supernet(space)
    for m in net.modules():
        if isinstance(m, ModaMixer) and language_scale is not None:
            with torch.no_grad():  # 0: the selector is the bias alone, whatever the text; large: text dominates
                m.linear.weight.mul_(language_scale)
    return str(save_subnet(net.extract(sample_arch(s)), folder))


@pytest.fixture(scope="module")
def evaluation(test_split: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list[Video], Path]:
    root = tmp_path_factory.mktemp("exports")
    exports = {"reads": _export(root / "reads", "tiny.yaml", 3.0),
               "ignores": _export(root / "ignores", "tiny.yaml", 0.0),
               "vision": _export(root / "vision", "tiny_siamcar.yaml")}
    videos = load_dataset(test_split, "lasot", strict=True)
    out = tmp_path_factory.mktemp("eval")
    return evaluate_videos(exports, videos, out, cache=FakeCache(), benchmark=None, protocol="pysot",
                           first_box=True), videos, out


def test_a_tracker_that_reads_text_is_sensitive_and_the_report_is_consistent(evaluation) -> None:
    ev, videos, out = evaluation
    sens = ev["language_sensitivity"]["reads"]
    modes = sens["modes"]
    assert list(modes) == ["correct", "none", "deranged", "template"]
    correct = np.array(list(modes["correct"]["per_video_suc"].values()))
    assert modes["correct"]["overall"]["suc"] == pytest.approx(ev["trackers"]["reads"]["overall"]["suc"])
    for mode in ("none", "deranged"):
        per_video = np.array(list(modes[mode]["per_video_suc"].values()))
        assert not np.allclose(per_video, correct), mode  # the text changes the boxes
    for mode in ("none", "deranged", "template"):
        per_video = np.array(list(modes[mode]["per_video_suc"].values()))
        d = modes[mode]["diff_vs_correct"]["overall"]
        assert d["n_videos"] == len(videos)
        assert d["diff"] == pytest.approx(per_video.mean() - correct.mean())
        assert d["diff"] == pytest.approx(modes[mode]["overall"]["suc"] - modes["correct"]["overall"]["suc"])
        lo, hi = d["ci"]
        assert lo <= d["diff"] <= hi and d["excludes_zero"] == (lo > 0 or hi < 0)
        lo_s, hi_s = modes[mode]["overall"]["suc_ci"]
        assert lo_s <= modes[mode]["overall"]["suc"] <= hi_s
        for split in ("description_needed", "description_not_needed"):
            if split in modes[mode]["diff_vs_correct"]:
                n = modes[mode]["diff_vs_correct"][split]["n_videos"]
                assert n == modes[mode]["splits"][split]["n_videos"] == \
                    sum(v.attributes.get("description_needed") is (split == "description_needed") for v in videos)
    assert sens["derangement"]["n_deranged"] == len(videos) and sens["derangement"]["n_same_text"] == 0
    for mode in ("none", "deranged", "template"):
        assert (out / "results" / f"reads.{mode}").is_dir()
    assert json.loads((out / "report.json").read_text())["language_sensitivity"]["reads"]["modes"]


def test_a_tracker_that_ignores_text_differs_by_exactly_zero(evaluation) -> None:
    ev, _, _ = evaluation
    modes = ev["language_sensitivity"]["ignores"]["modes"]
    for mode in ("none", "deranged", "template"):
        for split, d in modes[mode]["diff_vs_correct"].items():
            assert d["diff"] == 0.0 and d["ci"] == [0.0, 0.0] and not d["excludes_zero"], (mode, split)


def test_trackers_without_language_are_skipped_and_compared_with_the_first(evaluation) -> None:
    ev, videos, _ = evaluation
    assert "no language input" in ev["language_sensitivity"]["vision"]["skipped"]
    assert set(ev["trackers"]) == {"reads", "ignores", "vision", "first-box"}
    diffs = ev["differences"]
    assert diffs["reference"] == "reads" and set(diffs["vs"]) == {"ignores", "vision", "first-box"}
    d = diffs["vs"]["vision"]["overall"]
    expected = ev["trackers"]["vision"]["overall"]["suc"] - ev["trackers"]["reads"]["overall"]["suc"]
    assert d["diff"] == pytest.approx(expected) and d["ci"][0] <= d["diff"] <= d["ci"][1]
    assert len(ev["trackers"]["reads"]["overall"]["suc_ci"]) == 2


def _video(name: str, text: str | None) -> Video:
    return Video(name, [Path("f.jpg")], np.zeros((1, 4)), np.zeros(1, bool), text)


def test_derangement_gives_every_video_another_sentence() -> None:
    videos = [_video(f"v{i}", t) for i, t in enumerate(["a red ball", "a red ball", "a blue cube", "a green star",
                                                         "a blue cube", None, "a pink ring"])]
    texts, info = derange_descriptions(videos)
    assert texts == derange_descriptions(videos)[0]  # seeded
    assert texts != derange_descriptions(videos, seed=5)[0]
    described = [v for v in videos if v.description]
    assert all(texts[v.name] != v.description for v in described)  # not even an identical sentence
    assert sorted(texts[v.name] for v in described) == sorted(v.description for v in described)
    assert texts["v5"] is None and info["n_without_description"] == 1 and "no description" in info["note"]
    one, info1 = derange_descriptions([_video("a", "x"), _video("b", None)])
    assert one == {"a": None, "b": None} and "fewer than two" in info1["note"]
    same, info2 = derange_descriptions([_video(f"s{i}", "same") for i in range(3)] + [_video("o", "other")])
    assert info2["n_same_text"] > 0 and "identical" in info2["note"]


def test_nasvl_eval_tracks_an_export_and_reports_sensitivity(test_split: Path, tmp_path: Path,
                                                           embed_cache_dir: Path, capsys) -> None:
    export = _export(tmp_path / "export", "tiny.yaml", 3.0)
    args = ["eval", "--dataset", str(test_split), "--format", "lasot", "--export", f"vl={export}",
            "--out", str(tmp_path / "ev"), "--embed-cache", str(embed_cache_dir), "--max-videos", "4",
            "--language-modes", "none,deranged"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "language sensitivity of vl" in printed and "Δ SUC vs vl" in printed
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert report["n_videos"] == 4 and set(report["trackers"]) == {"vl", "first-box"}
    modes = report["language_sensitivity"]["vl"]["modes"]
    assert set(modes) == {"correct", "none", "deranged"} and "diff_vs_correct" in modes["none"]
    assert (tmp_path / "ev" / "plots" / "success.png").is_file()
    assert main(args) == 2 and "--force" in capsys.readouterr().err  # never overwritten silently
    assert main([*args[:7], "--language-modes", "nonsense"]) == 2
    assert "--out" in capsys.readouterr().err


def test_ablation_table_has_cis_and_sensitivity_columns(tmp_path: Path) -> None:
    from rich.console import Console

    from nasvl.jobs.ablation import _write_table

    diff = {"overall": {"diff": -0.05, "ci": [-0.08, -0.02], "n_videos": 40, "excludes_zero": True}}
    rows = [{"variant": "vl", "note": "", "suc": 0.4, "suc_ci": [0.35, 0.45], "n_videos": 40, "prec": 0.5,
             "norm_prec": 0.45, "delta_none": diff, "delta_deranged": diff},
            {"variant": "vision", "note": "", "suc": 0.41, "suc_ci": [0.36, 0.46], "n_videos": 40, "prec": 0.5,
             "norm_prec": 0.45, "sensitivity_skipped": "no language"}]
    _write_table(rows, tmp_path, "ab", "synth-test", Console(width=200, file=open(tmp_path / "log", "w")))
    md = (tmp_path / "ablation.md").read_text()
    assert "Δ none [95% CI]" in md and "40.0 [35.0, 45.0]" in md and "-5.0 [-8.0, -2.0]*" in md
    assert json.loads((tmp_path / "ablation.json").read_text())[1]["sensitivity_skipped"] == "no language"


def test_the_onnx_runtime_scores_like_torch_and_leaves_the_template_mode_out(
        evaluation, tmp_path_factory: pytest.TempPathFactory) -> None:
    torch_eval, videos, _ = evaluation
    export = _export(tmp_path_factory.mktemp("onnx") / "reads", "tiny.yaml", 3.0)  # the same weights as "reads"
    out = tmp_path_factory.mktemp("eval-onnx")
    onnx_eval = evaluate_videos({"reads": export}, videos, out, cache=FakeCache(), benchmark=None,
                                protocol="pysot", runtime="onnx")
    assert (Path(export) / "onnx" / "manifest.json").is_file()  # written on first use
    assert onnx_eval["runtime"] == "onnx" and "template" in onnx_eval["language_modes_left_out"]
    assert set(onnx_eval["language_sensitivity"]["reads"]["modes"]) == {"correct", "none", "deranged"}
    # An untrained tracker's near-flat scores let 1e-6 differences pick another peak later on, so
    # compare the first tracked frame of every video, where both runtimes see the same crop.
    torch_out = evaluation[2]
    for video in videos:
        for folder in ("reads", "reads.none", "reads.deranged"):
            got = np.loadtxt(out / "results" / folder / f"{video.name}.txt", delimiter=",")
            want = np.loadtxt(torch_out / "results" / folder / f"{video.name}.txt", delimiter=",")
            np.testing.assert_allclose(got[1], want[1], atol=0.05, err_msg=f"{folder}/{video.name}")
