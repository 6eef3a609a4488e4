"""The synthetic benchmark's language content: needed tags, held-out combinations, sentence
variety, and each content kind visible in the pixels and boxes as its tags say."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from nasvl.data import load_dataset
from nasvl.data.attributes import read_synth_tags
from nasvl.data.synth import SynthConfig, generate
from nasvl.data.synth.scene import COLORS
from nasvl.data.synth.story import held_out_pairs
from nasvl.data.video import Video
from nasvl.errors import DataError

SPLITS = ("train", "val", "test")
MID = SynthConfig(train_videos=24, val_videos=4, test_videos=12, min_frames=24, max_frames=32,
                  width=192, height=144, coco_images=0)
SMALL = SynthConfig(train_videos=4, val_videos=1, test_videos=1, min_frames=12, max_frames=14,
                    width=160, height=120, coco_images=0, no_description_fraction=0.0)


@pytest.fixture(scope="module")
def mid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("lang") / "mid", seed=1, config=MID, workers=2)


def _videos(root: Path) -> list[tuple[str, Video, dict, Path]]:
    out = []
    for split in SPLITS:
        for v in load_dataset(root / split, "lasot"):
            seq = root / split / v.attributes["class"] / v.name
            out.append((split, v, json.loads((seq / "tags.json").read_text()), seq))
    return out


def _sentences(root: Path) -> set[str]:
    return {p.read_text().strip() for p in root.rglob("nlp.txt")}


def test_needed_tags_are_set_and_both_values_occur(mid: Path) -> None:
    videos = _videos(mid)
    values = {"train": set(), "test": set()}
    for split, v, tags, seq in videos:
        attrs = read_synth_tags(seq)
        assert isinstance(attrs["description_needed"], bool) and attrs["description_needed"] == \
            tags["description_needed"]
        assert all(attrs[k] == (k in tags["kinds"]) for k in ("twin", "appearance_switch", "loose_box",
                                                               "long_out_of_view"))
        values.setdefault(split, set()).add(tags["description_needed"])
        if tags["description_needed"]:  # only a look-alike makes the template ambiguous
            assert tags["twin"] is not None or tags["switch"] is not None, v.name
    assert values["train"] == {True, False} and values["test"] == {True, False}
    kinds = {k for _, _, t, _ in videos for k in t["kinds"]}
    assert kinds == {"twin", "appearance_switch", "loose_box", "long_out_of_view"}


def test_tags_reader_refuses_a_broken_file(tmp_path: Path) -> None:
    (tmp_path / "tags.json").write_text('{"kinds": ["twin", "ghost"], "description_needed": true}')
    with pytest.raises(DataError, match="unknown ghost"):
        read_synth_tags(tmp_path)
    (tmp_path / "tags.json").write_text('{"kinds": []}')
    with pytest.raises(DataError, match="description_needed"):
        read_synth_tags(tmp_path)
    assert read_synth_tags(tmp_path / "nowhere") == {}


def test_held_out_combinations_never_occur_together_in_train(mid: Path) -> None:
    held = held_out_pairs(1)
    videos = _videos(mid)
    named_in_train = set()
    for split, _, tags, _ in videos:
        if split != "train":
            continue
        d = tags["described"]
        named_in_train.add((d["color"], d["shape"]))
        if d.get("switch_attr") == "color":
            named_in_train.add((d["switch_to"], d["shape"]))
        if "landmark" in d:
            named_in_train.add(tuple(d["landmark"].split(" ")))
    assert not named_in_train & held
    train_text = " ".join(p.read_text() for p in (mid / "train").rglob("nlp.txt"))
    assert not [f"{c} {s}" for c, s in held if f"{c} {s}" in train_text]
    for split, v, tags, _ in videos:
        if split == "test":
            pair = tuple(tags["combination"].split(" "))
            assert pair in held and pair not in named_in_train and tags["held_out_combination"], v.name
            assert pair[1] in v.description  # the description names the held-out shape ...
            assert pair[0] in v.description  # ... and colour (possibly as a switch's start)


def test_sentence_count_grows_with_the_number_of_videos(mid: Path, tmp_path: Path) -> None:
    small = generate(tmp_path / "small", seed=1, config=SMALL, workers=1)
    few, many = _sentences(small), _sentences(mid)
    described = sum(1 for _ in mid.rglob("nlp.txt"))
    assert len(many) > len(few) >= 5
    assert len(many) >= 0.9 * described  # nearly every video has its own sentence


def _centre_colour(v: Video, frames: list[int]) -> np.ndarray:
    out = []
    for i in frames:
        x, y, w, h = v.boxes[i]
        cx, cy = x + w / 2, y + h / 2
        patch = v.frame(i)[int(cy - 0.15 * h):int(cy + 0.15 * h) + 1, int(cx - 0.15 * w):int(cx + 0.15 * w) + 1]
        out.append(np.median(patch.reshape(-1, 3).astype(float), 0))
    return np.median(out, 0)


def test_colour_switch_happens_and_the_description_stays_true(mid: Path) -> None:
    checked = 0
    for _, v, tags, _ in _videos(mid):
        sw = tags["switch"]
        if not sw or sw["attribute"] != "color":
            continue
        k = sw["frame"] - 1
        pre = [i for i in range(max(k - 3, 0), k) if not v.absent[i]]
        post = [i for i in range(k, min(k + 3, len(v))) if not v.absent[i]]
        if not pre or not post:
            continue
        before, after = _centre_colour(v, pre), _centre_colour(v, post)
        new = np.array(COLORS[sw["to"]], float)
        assert np.linalg.norm(after - new) < np.linalg.norm(before - new), v.name
        assert np.linalg.norm(after - before) > 40, v.name
        if v.description:  # the words name the shape and the new colour: still true after the switch
            assert tags["described"]["shape"] in v.description and sw["to"] in v.description
        checked += 1
    assert checked >= 2


def _best_match_elsewhere(v: Video, template: np.ndarray, frames: range) -> float:
    best = -1.0
    th, tw = template.shape[:2]
    for i in frames:
        frame = v.frame(i)
        if th >= frame.shape[0] or tw >= frame.shape[1]:
            continue
        r = cv2.matchTemplate(frame, template, cv2.TM_CCOEFF_NORMED)
        if not v.absent[i]:  # blank out windows centred on the target itself
            x, y, w, h = v.boxes[i]
            r[int(max(y - th / 2, 0)):int(y + h / 2) + 1, int(max(x - tw / 2, 0)):int(x + w / 2) + 1] = -1
        best = max(best, float(r.max()))
    return best


def test_twins_look_like_the_template(mid: Path) -> None:
    scores: dict[bool, list[float]] = {True: [], False: []}
    for _, v, tags, _ in _videos(mid):
        x, y, w, h = np.round(v.boxes[1]).astype(int)  # frame 2: frame 1's box may be loose
        template = v.frame(1)[y:y + h, x:x + w]
        first = (tags["twin"] or {}).get("first_frame", 1)
        scores[tags["twin"] is not None].append(_best_match_elsewhere(v, template, range(max(first, 2), len(v), 2)))
    assert len(scores[True]) >= 4 and len(scores[False]) >= 4
    assert np.median(scores[True]) > np.median(scores[False]) + 0.2, scores


def test_twin_cues_separate_target_and_twin(mid: Path) -> None:
    for _, v, tags, _ in _videos(mid):
        twin, said = tags["twin"], tags["described"]
        if not twin or twin["frames_shown"] < 5:
            continue
        if twin["cue"] == "size_change":
            assert said["change"] != twin["change"], v.name
        if twin["cue"] == "relation":
            centres = v.boxes[v.visible, :2] + v.boxes[v.visible, 2:] / 2
            mark = np.array(tags["landmark_center"])
            axis, sign = {"left": (0, -1), "right": (0, 1), "above": (1, -1), "below": (1, 1)}[said["relation"]]
            assert (sign * (centres[1:, axis] - mark[axis]) > 0).all(), v.name  # frame 1's box may be loose


def test_loose_and_long_out_of_view_boxes(mid: Path) -> None:
    for _, v, tags, seq in _videos(mid):
        ratio = (v.boxes[0, 2] * v.boxes[0, 3]) / (v.boxes[1, 2] * v.boxes[1, 3])
        assert (ratio > 1.5) == ("loose_box" in tags["kinds"]), (v.name, ratio)
        gone = np.array((seq / "out_of_view.txt").read_text().strip().split(","), int)
        longest, run = 0, 0
        for g in gone:
            run = run + 1 if g else 0
            longest = max(longest, run)
        if "long_out_of_view" in tags["kinds"]:
            assert longest >= 0.15 * len(v), (v.name, longest)
