"""Benchmark readers follow their toolkits' frame ranges and sequence quirks (tiny fixtures written here).

- OTB: the toolkit's per-video first/last annotated frame (David starts at 300; Football1 ends at 74).
- LaSOT: negative box sizes occur in frames flagged absent (lion-5, tiger-6) and only there.
- TNL2K: frame names ordered by number; two first-release videos carry one extra box row.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from nasvl.data import load_dataset
from nasvl.data.readers.lasot_split import LASOT_TEST
from nasvl.data.readers.otb import OTB_RANGES
from nasvl.errors import DataError

_JPEG = cv2.imencode(".jpg", np.full((12, 16, 3), 80, np.uint8))[1].tobytes()


def _frames(folder: Path, numbers: range, width: int = 4, ext: str = ".jpg") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k in numbers:
        (folder / f"{k:0{width}d}{ext}").write_bytes(_JPEG)


def _rows(n: int, x0: int = 1) -> str:
    return "".join(f"{x0 + i},2,5,4\n" for i in range(n))


def otb_video(root: Path, name: str, frames: range, boxes: int) -> Path:
    _frames(root / name / "img", frames)
    (root / name / "groundtruth_rect.txt").write_text(_rows(boxes))
    return root / name


def test_otb_toolkit_table_covers_the_known_partial_videos() -> None:
    assert OTB_RANGES["David"] == (300, 770) and OTB_RANGES["Football1"] == (1, 74)
    assert all(first >= 1 and last > first for first, last in OTB_RANGES.values())


def test_otb_david_starts_at_frame_300(tmp_path: Path) -> None:
    otb_video(tmp_path, "David", range(1, 781), 471)  # the download holds 770+ frames, GT covers 300..770
    (v,) = load_dataset(tmp_path, "otb99lang")
    assert len(v) == 471 and v.frames[0].name == "0300.jpg" and v.frames[-1].name == "0770.jpg"
    np.testing.assert_array_equal(v.boxes[0], [1, 2, 5, 4])


def test_otb_football1_ends_at_frame_74(tmp_path: Path) -> None:
    otb_video(tmp_path, "Football1", range(1, 363), 74)
    (v,) = load_dataset(tmp_path, "otb99lang")
    assert len(v) == 74 and v.frames[-1].name == "0074.jpg"


@pytest.mark.parametrize(("frames", "boxes", "message"), [
    (range(1, 781), 470, "annotates frames 300..770 of David"),
    (range(301, 781), 471, "frame 300 (the first annotated frame of David"),
    (range(1, 700), 471, "471 boxes but only 400 frames"),
], ids=["wrong-box-count", "first-frame-missing", "frames-end-early"])
def test_otb_range_mismatches_are_located_errors(tmp_path: Path, frames: range, boxes: int, message: str) -> None:
    otb_video(tmp_path, "David", frames, boxes)
    with pytest.raises(DataError, match=message.replace("(", r"\(")) as exc:
        load_dataset(tmp_path, "otb99lang")
    assert "David/groundtruth_rect.txt" in str(exc.value)


def test_otb_videos_outside_the_table_stay_strict(tmp_path: Path) -> None:
    otb_video(tmp_path, "Biker", range(1, 12), 10)  # one frame more than boxes: a broken download
    with pytest.raises(DataError, match="10 boxes but 11 frames"):
        load_dataset(tmp_path, "otb99lang")


def lasot_video(root: Path, name: str, rows: list[str], occ: str, oov: str) -> Path:
    seq = root / name.rsplit("-", 1)[0] / name
    _frames(seq / "img", range(1, len(rows) + 1), width=8)
    (seq / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    (seq / "full_occlusion.txt").write_text(occ + "\n")
    (seq / "out_of_view.txt").write_text(oov + "\n")
    return seq


def test_lasot_negative_sizes_in_flagged_frames_are_absent(tmp_path: Path) -> None:
    lasot_video(tmp_path, "lion-5", ["3,4,10,12", "1,1,-1,-1", "613,731,247,-11", "5,4,10,12"],
                occ="0,1,0,0", oov="0,0,1,0")
    (v,) = load_dataset(tmp_path, "lasot", "test")
    np.testing.assert_array_equal(v.absent, [False, True, True, False])
    assert v.visible.tolist() == [True, False, False, True]


def test_lasot_negative_size_in_a_visible_frame_is_an_error(tmp_path: Path) -> None:
    lasot_video(tmp_path, "lion-5", ["3,4,10,12", "1,1,-1,-1"], occ="0,0", oov="0,0")
    with pytest.raises(DataError, match=r"groundtruth.txt:2: negative box size .* not flagged"):
        load_dataset(tmp_path, "lasot")


def test_lasot_test_list_has_280_videos_20_per_class() -> None:
    classes: dict[str, int] = {}
    for name in LASOT_TEST:
        classes[name.rsplit("-", 1)[0]] = classes.get(name.rsplit("-", 1)[0], 0) + 1
    assert len(LASOT_TEST) == 280 and len(classes) == 70 and set(classes.values()) == {4}
    assert {"lion-5", "tiger-6", "monkey-17"} <= LASOT_TEST


def tnl2k_video(root: Path, name: str, numbers: range, boxes: int, width: int = 1) -> Path:
    _frames(root / name / "imgs", numbers, width=width, ext=".png")
    (root / name / "groundtruth.txt").write_text(_rows(boxes))
    (root / name / "language.txt").write_text("the ball\n")
    return root / name


def test_tnl2k_frames_are_ordered_by_number(tmp_path: Path) -> None:
    tnl2k_video(tmp_path, "Ball_1", range(1, 13), 12)  # 1.png .. 12.png: name order would put 10 after 1
    (v,) = load_dataset(tmp_path, "tnl2k")
    assert [f.stem for f in v.frames] == [str(k) for k in range(1, 13)]


def test_tnl2k_first_release_extra_row_is_dropped_only_for_the_known_videos(tmp_path: Path) -> None:
    tnl2k_video(tmp_path / "a", "advSamp_monitor_bikeyellow", range(1, 6), 6, width=5)
    (v,) = load_dataset(tmp_path / "a", "tnl2k")
    assert len(v) == 5 and v.boxes.shape == (5, 4)
    tnl2k_video(tmp_path / "b", "Ball_2", range(1, 6), 6, width=5)
    with pytest.raises(DataError, match="6 boxes but only 5 frames"):
        load_dataset(tmp_path / "b", "tnl2k")
