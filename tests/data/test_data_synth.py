"""The embedded synthetic benchmark: reproducible bytes, LaSOT layout, the promised content."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from nasvl.cli import main
from nasvl.data import load_dataset
from nasvl.data.synth import SynthConfig, generate, plan_objects
from nasvl.data.synth.scene import COLORS, SHAPES
from nasvl.errors import DataError

TINY = SynthConfig(train_videos=6, val_videos=2, test_videos=2, min_frames=14, max_frames=20,
                   width=192, height=144, coco_images=6, no_description_fraction=0.5)


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "a", seed=3, config=TINY, workers=1)


def test_same_seed_same_bytes_regardless_of_workers(tiny: Path, tmp_path: Path) -> None:
    again = generate(tmp_path / "b", seed=3, config=TINY, workers=2)
    first, second = _hashes(tiny), _hashes(again)
    assert first == second and len(first) > 100
    manifest = json.loads((tiny / "manifest.json").read_text())
    assert {f: h for f, h in first.items() if f != "manifest.json"} == manifest["files"]


def test_other_seed_other_bytes(tiny: Path, tmp_path: Path) -> None:
    other = generate(tmp_path / "c", seed=4, config=TINY, workers=1)
    assert _hashes(other)["manifest.json"] != _hashes(tiny)["manifest.json"]


def test_lasot_reader_reads_every_split(tiny: Path) -> None:
    counts = {s: len(load_dataset(tiny / s, "lasot")) for s in ("train", "val", "test")}
    assert counts == {"train": 6, "val": 2, "test": 2}
    assert len(load_dataset(tiny, "lasot", "val")) == 2  # split given as a sub-folder name
    names = [v.name for s in ("train", "val", "test") for v in load_dataset(tiny / s, "lasot")]
    assert len(set(names)) == len(names)  # <class>-<k> unique across splits, as in LaSOT


def test_videos_have_the_promised_content(tiny: Path) -> None:
    split_of = {v.name: s for s in ("train", "val", "test") for v in load_dataset(tiny / s, "lasot")}
    videos = [v for s in ("train", "val", "test") for v in load_dataset(tiny / s, "lasot")]
    for v in videos:
        assert 14 <= len(v) <= 20
        assert v.attributes["class"] in SHAPES and v.name.startswith(v.attributes["class"])
        assert v.visible[0], f"{v.name}: the first frame must show the target (trackers start there)"
        assert v.frame(0).shape == (144, 192, 3)
        seq = tiny / split_of[v.name] / v.attributes["class"] / v.name
        oov = np.array((seq / "out_of_view.txt").read_text().strip().split(","), int).astype(bool)
        assert (v.boxes[oov] == 0).all() and v.absent[oov].all()  # LaSOT writes 0,0,0,0 out of view
        if v.description:  # names the discriminating colour and shape
            assert any(c in v.description for c in COLORS) and v.attributes["class"] in v.description
    held_out = [v for v in videos if split_of[v.name] != "train"]
    assert all(v.description for v in held_out), "only training videos may lack a description"
    assert any(v.description is None for v in videos if split_of[v.name] == "train")


def test_every_video_has_a_confusable_distractor() -> None:
    for index in range(300):
        target, others = plan_objects(np.random.default_rng([11, 0, index]))
        shares = [o.shape == target.shape or o.color == target.color for o in others]
        assert any(shares), index
        assert not any(o.shape == target.shape and o.color == target.color for o in others), index


def test_challenges_occur_across_a_larger_set(tmp_path: Path) -> None:
    cfg = SynthConfig(train_videos=12, val_videos=0, test_videos=0, min_frames=30, max_frames=36,
                      width=192, height=144, coco_images=0)
    out = generate(tmp_path / "s", seed=0, config=cfg)
    videos = load_dataset(out / "train", "lasot")
    flags = {k: sum(v.attributes[k] for v in videos) for k in ("full_occlusion", "out_of_view", "fast_motion")}
    assert all(n > 0 for n in flags.values()), flags
    oov_frames = np.concatenate([v.absent for v in videos])
    # The language kinds (twins popping in while the target is away, long out-of-view spans)
    # add absences on purpose; most frames still show the target.
    assert 0 < oov_frames.mean() < 0.4


def test_coco_image_set(tiny: Path) -> None:
    videos = load_dataset(tiny / "coco", "coco")
    assert len(videos) >= 6 and all(len(v) == 1 and v.description is None for v in videos)
    doc = json.loads((tiny / "coco" / "annotations.json").read_text())
    assert {c["name"] for c in doc["categories"]} == set(SHAPES)


def test_refuses_to_overwrite_silently(tiny: Path) -> None:
    with pytest.raises(DataError, match="already exist; pass overwrite"):
        generate(tiny, seed=3, config=TINY)


def test_cli_synth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "synth", "--out", str(tmp_path / "cli"), "--videos", "3", "--seed", "1",
                 "--frames", "12-16", "--coco-images", "2", "--workers", "1"]) == 0
    assert "synthetic benchmark written" in capsys.readouterr().out
    assert len(load_dataset(tmp_path / "cli" / "test", "lasot")) == 1
    assert main(["data", "synth", "--out", str(tmp_path / "cli"), "--videos", "3"]) == 2  # refuses, clean error


@pytest.mark.slow
def test_default_size_has_every_split_and_a_visible_first_frame(tmp_path: Path) -> None:
    # Its speed is a benchmark (BENCHMARKS.md, "Data"), not asserted here: a loaded machine is slower.
    out = generate(tmp_path / "full", seed=0)
    counts = {s: len(load_dataset(out / s, "lasot")) for s in ("train", "val", "test")}
    assert counts == {"train": 80, "val": 20, "test": 20}
    for s in ("train", "val", "test"):
        assert all(v.visible[0] for v in load_dataset(out / s, "lasot"))
