"""Every benchmark reader on tiny fixtures written here, with the quirks real downloads have."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from nasvl.data import DataWarning, Video, format_names, load_dataset
from nasvl.data.readers.lasot_split import LASOT_TEST
from nasvl.errors import DataError


def _img(path: Path, value: int = 100, ext: str = ".jpg") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((12, 16, 3), value, np.uint8)
    img[2:6, 3:9] = (0, 0, 255)
    assert cv2.imwrite(str(path.with_suffix(ext)), img)


def lasot_seq(root: Path, name: str, n: int = 4, *, sep: str = ",", nlp: str | None = "the red car",
              occ: list[int] | None = None, oov: list[int] | None = None, boxes: list[str] | None = None) -> Path:
    seq = root / name.rsplit("-", 1)[0] / name
    for i in range(n):
        _img(seq / "img" / f"{i + 1:08d}.jpg", 50 + i)
    rows = boxes if boxes is not None else [sep.join(str(v) for v in (1 + i, 2, 5, 4)) for i in range(n)]
    (seq / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    (seq / "full_occlusion.txt").write_text(",".join(map(str, occ or [0] * n)) + "\n")
    (seq / "out_of_view.txt").write_text(",".join(map(str, oov or [0] * n)) + "\n")
    if nlp is not None:
        (seq / "nlp.txt").write_text(nlp + "\n")
    return seq


def test_lasot_reads_boxes_flags_and_description(tmp_path: Path) -> None:
    lasot_seq(tmp_path, "car-1", occ=[0, 1, 0, 0], oov=[0, 0, 0, 1])
    lasot_seq(tmp_path, "car-2", nlp=None, boxes=["1,2,5,4", "0,0,0,0", "3,2,5,4", "4,2,5,4"])
    (v1, v2) = load_dataset(tmp_path, "lasot")
    assert isinstance(v1, Video) and v1.name == "car-1" and len(v1) == 4
    assert v1.boxes.dtype == np.float64 and v1.boxes.shape == (4, 4)
    np.testing.assert_array_equal(v1.boxes[2], [3, 2, 5, 4])
    np.testing.assert_array_equal(v1.absent, [False, True, False, True])
    assert v1.description == "the red car" and v1.attributes["class"] == "car"
    assert v1.attributes["full_occlusion"] and v1.attributes["out_of_view"]
    # missing nlp.txt is a quirk, not an error; a 0,0,0,0 box marks the frame absent
    assert v2.description is None
    np.testing.assert_array_equal(v2.absent, [False, True, False, False])
    frame = v1.frame(0)
    assert frame.dtype == np.uint8 and frame.shape == (12, 16, 3)
    assert [int(c) for c in frame[3, 4]] == pytest.approx([0, 0, 255], abs=30)  # BGR: red is channel 2


def test_lasot_missing_flag_files_mean_visible(tmp_path: Path) -> None:
    seq = lasot_seq(tmp_path, "cat-3")
    (seq / "full_occlusion.txt").unlink()
    (seq / "out_of_view.txt").unlink()
    (v,) = load_dataset(tmp_path, "lasot")
    assert not v.absent.any()


def test_lasot_official_test_split(tmp_path: Path) -> None:
    lasot_seq(tmp_path, "airplane-1")   # official test video
    lasot_seq(tmp_path, "airplane-2")   # training video
    assert [v.name for v in load_dataset(tmp_path, "lasot", "test")] == ["airplane-1"]
    assert [v.name for v in load_dataset(tmp_path, "lasot", "train")] == ["airplane-2"]
    assert len(load_dataset(tmp_path, "lasot")) == 2  # LaSOT_ext: no split
    with pytest.raises(DataError, match="unknown LaSOT split 'dev'"):
        load_dataset(tmp_path, "lasot", "dev")


def test_lasot_split_subfolder(tmp_path: Path) -> None:
    lasot_seq(tmp_path / "val", "dog-7")
    assert [v.name for v in load_dataset(tmp_path, "lasot", "val")] == ["dog-7"]


def test_official_test_list_matches_got10k_toolkit() -> None:
    spec = importlib.util.find_spec("got10k")
    assert spec is not None and spec.submodule_search_locations
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "lasot.json"
    official = json.loads(path.read_text())["test"]
    assert LASOT_TEST == frozenset(official) and len(LASOT_TEST) == 280


def test_tnl2k_png_frames_and_language(tmp_path: Path) -> None:
    seq = tmp_path / "test" / "Adv_play_1"
    for i in range(3):
        _img(seq / "imgs" / f"{i + 1:05d}", ext=".png")
    (seq / "groundtruth.txt").write_text("1,1,4,4\n0,0,0,0\n2,1,4,4\n")
    (seq / "language.txt").write_text("the man in a white shirt\n")
    (v,) = load_dataset(tmp_path, "tnl2k", "test")
    assert v.dataset == "tnl2k" and v.description == "the man in a white shirt"
    np.testing.assert_array_equal(v.absent, [False, True, False])
    assert v.frames[0].suffix == ".png"


@pytest.mark.parametrize("sep", [",", "\t", " ", ", "])
def test_otb99lang_separators(tmp_path: Path, sep: str) -> None:
    vdir = tmp_path / "Biker"
    for i in range(3):
        _img(vdir / "img" / f"{i + 1:04d}.jpg")
    (vdir / "groundtruth_rect.txt").write_text("\n".join(sep.join(map(str, (i, 2, 5, 6))) for i in range(3)))
    (tmp_path / "OTB_query_test").mkdir()
    (tmp_path / "OTB_query_test" / "Biker.txt").write_text("boy riding a bike\n")
    (v,) = load_dataset(tmp_path, "otb99lang", "test")
    np.testing.assert_array_equal(v.boxes[:, 0], [0, 1, 2])
    assert v.description == "boy riding a bike"


def test_otb99lang_splits_two_targets_and_latin1_query(tmp_path: Path) -> None:
    for name in ("Jogging", "Car4"):
        for i in range(2):
            _img(tmp_path / name / "img" / f"{i + 1:04d}.jpg")
    (tmp_path / "Jogging" / "groundtruth_rect.1.txt").write_text("1\t1\t3\t3\n1\t1\t3\t3\n")
    (tmp_path / "Jogging" / "groundtruth_rect.2.txt").write_text("5 5 3 3\n5 5 3 3\n")
    (tmp_path / "Car4" / "groundtruth_rect.txt").write_text("1,1,3,3\n1,1,3,3\n")
    (tmp_path / "OTB_query_train").mkdir()
    (tmp_path / "OTB_query_test").mkdir()
    (tmp_path / "OTB_query_train" / "Car4.txt").write_bytes("a car on the caf\xe9 road".encode("latin-1"))
    (tmp_path / "OTB_query_test" / "Jogging-1.txt").write_text("woman jogging on the left")
    (tmp_path / "OTB_query_test" / "Jogging-2.txt").write_text("man jogging")
    assert [v.name for v in load_dataset(tmp_path, "otb99lang", "test")] == ["Jogging-1", "Jogging-2"]
    with pytest.warns(DataWarning, match="not UTF-8"):
        (car,) = load_dataset(tmp_path, "otb99lang", "train")
    assert car.description == "a car on the café road"
    with pytest.warns(DataWarning):
        assert len(load_dataset(tmp_path, "otb99lang")) == 3


def got_seq(base: Path, name: str, n: int = 4, meta: str | None = None, absence: str | None = None,
            cover: str | None = None, gt_rows: int | None = None) -> Path:
    seq = base / name
    for i in range(n):
        _img(seq / f"{i + 1:08d}.jpg")
    (seq / "groundtruth.txt").write_text("".join(f"{i},1,4,5\n" for i in range(gt_rows or n)))
    if absence is not None:
        (seq / "absence.label").write_text(absence)
    if cover is not None:
        (seq / "cover.label").write_text(cover)
    if meta is not None:
        (seq / "meta_info.ini").write_text(meta)
    return seq


META = """[METAINFO]
url: https://youtu.be/xxxx
begin_time: 00:00:07
object_class: dove
motion_class: walking
major_class: bird
root_class: animal
motion_adverb: slowly
resolution: (1280, 720)
"""


def test_got10k_pseudo_description_and_absence(tmp_path: Path) -> None:
    base = tmp_path / "val"
    got_seq(base, "GOT-10k_Val_000001", meta=META, absence="0\n1\n0\n0\n", cover="8\n0\n5\n0\n")
    got_seq(base, "GOT-10k_Val_000002")
    (base / "list.txt").write_text("GOT-10k_Val_000001\nGOT-10k_Val_000002\n")
    v1, v2 = load_dataset(tmp_path, "got10k", "val")
    assert v1.description == "dove, walking, bird, animal"  # the paper's footnote 4
    np.testing.assert_array_equal(v1.absent, [False, True, False, True])  # absence | cover == 0
    assert v1.attributes["resolution"] == "(1280, 720)" and v1.attributes["root_class"] == "animal"
    assert v2.description is None and not v2.absent.any()


def test_got10k_test_split_withholds_boxes(tmp_path: Path) -> None:
    base = tmp_path / "test"
    got_seq(base, "GOT-10k_Test_000001", n=3, gt_rows=1)
    (base / "list.txt").write_text("GOT-10k_Test_000001\n")
    (v,) = load_dataset(tmp_path, "got10k", "test")
    assert np.isfinite(v.boxes[0]).all() and np.isnan(v.boxes[1:]).all()
    assert v.visible.tolist() == [True, False, False]


def coco_set(root: Path, anns: list[dict], images: int = 2) -> None:
    for i in range(images):
        _img(root / "images" / f"{i:03d}.jpg")
    doc = {"images": [{"id": i, "file_name": f"{i:03d}.jpg"} for i in range(images)],
           "annotations": anns, "categories": [{"id": 1, "name": "star"}]}
    (root / "annotations.json").write_text(json.dumps(doc, indent=1))


def test_coco_annotations_become_one_frame_videos(tmp_path: Path) -> None:
    coco_set(tmp_path, [{"id": 5, "image_id": 0, "bbox": [1, 2, 3, 4], "category_id": 1},
                        {"id": 6, "image_id": 1, "bbox": [1, 1, 5, 5], "category_id": 1, "iscrowd": 1},
                        {"id": 7, "image_id": 1, "bbox": [0.5, 1, 5, 5], "category_id": 1}])
    videos = load_dataset(tmp_path, "coco")
    assert [v.name for v in videos] == ["000-5", "001-7"]  # the crowd box is left out
    assert len(videos[0]) == 1 and videos[0].description is None
    assert videos[0].attributes["category"] == "star"
    np.testing.assert_array_equal(videos[1].boxes, [[0.5, 1, 5, 5]])


def test_generic_folder_of_videos(tmp_path: Path) -> None:
    for i in range(3):
        _img(tmp_path / "clipA" / f"frame{i:03d}.jpg")
        _img(tmp_path / "clipB" / "img" / f"{i:05d}.png", ext=".png")
    (tmp_path / "clipA" / "groundtruth.txt").write_text("1 1 4 4\n1 1 4 4\n2 1 4 4\n")
    (tmp_path / "clipB" / "groundtruth.txt").write_text("1\t1\t4\t4\n1\t1\t4\t4\n2\t1\t4\t4\n")
    a, b = load_dataset(tmp_path, "folder")
    assert len(a) == len(b) == 3 and a.description is None and b.dataset == "folder"


def test_unknown_format_lists_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown dataset format 'vot'.*known: coco, folder, got10k, lasot"):
        load_dataset(tmp_path, "vot")
    assert set(format_names()) == {"lasot", "tnl2k", "otb99lang", "got10k", "coco", "folder"}


def test_missing_root_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere: dataset folder not found"):
        load_dataset(tmp_path / "nowhere", "lasot")


def test_latin1_description_is_a_warning_even_in_strict_mode(tmp_path: Path) -> None:
    seq = lasot_seq(tmp_path, "bird-1")
    (seq / "nlp.txt").write_bytes("a bird near the caf\xe9".encode("latin-1"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (v,) = load_dataset(tmp_path, "lasot", strict=True)
    assert v.description == "a bird near the café"
    assert any("nlp.txt:1: not UTF-8, read as latin-1" in str(w.message) for w in caught)
