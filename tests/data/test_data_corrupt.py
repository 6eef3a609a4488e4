"""The corrupt-layout suite: each case writes one good and one broken video.

Strict mode must raise a `DataError` naming the broken file (and line where there is
one); lenient mode must keep the good video and skip the bad one with exactly one warning.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from nasvl.data import DataWarning, load_dataset
from nasvl.errors import DataError


def _img(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((8, 8, 3), 90, np.uint8))


def _lasot(root: Path, name: str, n: int = 3) -> Path:
    seq = root / name.rsplit("-", 1)[0] / name
    for i in range(n):
        _img(seq / "img" / f"{i + 1:08d}.jpg")
    (seq / "groundtruth.txt").write_text("".join(f"{i},1,3,3\n" for i in range(n)))
    (seq / "full_occlusion.txt").write_text(",".join(["0"] * n))
    (seq / "out_of_view.txt").write_text(",".join(["0"] * n))
    (seq / "nlp.txt").write_text("a thing")
    return seq


def _tnl2k(root: Path, name: str, n: int = 3) -> Path:
    seq = root / name
    for i in range(n):
        _img(seq / "imgs" / f"{i:05d}.jpg")
    (seq / "groundtruth.txt").write_text("1,1,3,3\n" * n)
    (seq / "language.txt").write_text("a thing")
    return seq


def _otb(root: Path, name: str, n: int = 3) -> Path:
    seq = root / name
    for i in range(n):
        _img(seq / "img" / f"{i + 1:04d}.jpg")
    (seq / "groundtruth_rect.txt").write_text("1\t1\t3\t3\n" * n)
    return seq


def _got(root: Path, name: str, n: int = 3) -> Path:
    seq = root / name
    for i in range(n):
        _img(seq / f"{i + 1:08d}.jpg")
    (seq / "groundtruth.txt").write_text("1,1,3,3\n" * n)
    (seq / "absence.label").write_text("0\n" * n)
    (seq / "meta_info.ini").write_text("[METAINFO]\nobject_class: dove\nmotion_class: flying\n")
    listing = root / "list.txt"
    listing.write_text((listing.read_text() if listing.exists() else "") + name + "\n")
    return seq


def _coco(root: Path, bad: dict) -> None:
    _img(root / "images" / "a.jpg")
    doc = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "gone.jpg"}],
           "annotations": [{"id": 1, "image_id": 1, "bbox": [1, 1, 3, 3]}, bad]}
    (root / "annotations.json").write_text(json.dumps(doc))


def _folder(root: Path, name: str, n: int = 3) -> Path:
    for i in range(n):
        _img(root / name / f"{i:04d}.jpg")
    (root / name / "groundtruth.txt").write_text("1 1 3 3\n" * n)
    return root / name


def _gt(seq: Path, text: str, file: str = "groundtruth.txt") -> None:
    (seq / file).write_text(text)


# (id, format, builder(root) -> None, expected file suffix, expected line or None, message fragment)
CASES: list[tuple[str, str, Callable[[Path], None], str, int | None, str]] = [
    ("lasot-3-columns", "lasot",
     lambda r: _gt(_lasot(r, "bad-1"), "0,1,3,3\n1,1,3\n2,1,3,3\n"), "groundtruth.txt", 2, "expected 4 numbers"),
    ("lasot-not-a-number", "lasot",
     lambda r: _gt(_lasot(r, "bad-1"), "0,1,3,3\n1,1,3,3\nx,1,3,3\n"), "groundtruth.txt", 3, "not a number"),
    ("lasot-nan", "lasot",
     lambda r: _gt(_lasot(r, "bad-1"), "0,1,3,3\nnan,1,3,3\n2,1,3,3\n"), "groundtruth.txt", 2, "NaN"),
    ("lasot-negative-size", "lasot",
     lambda r: _gt(_lasot(r, "bad-1"), "0,1,3,3\n1,1,-3,3\n2,1,3,3\n"), "groundtruth.txt", 2, "negative box size"),
    ("lasot-more-boxes-than-frames", "lasot",
     lambda r: _gt(_lasot(r, "bad-1"), "1,1,3,3\n" * 5), "groundtruth.txt", 4, "5 boxes but only 3 frames"),
    ("lasot-fewer-boxes-than-frames", "lasot",
     lambda r: _gt(_lasot(r, "bad-1"), "1,1,3,3\n" * 2), "groundtruth.txt", None, "first frame without a box"),
    ("lasot-gap-in-frames", "lasot",
     lambda r: (_lasot(r, "bad-1", 4) / "img" / "00000002.jpg").unlink(), "groundtruth.txt", 2,
     "frame 00000002 is missing"),
    ("lasot-no-groundtruth", "lasot",
     lambda r: (_lasot(r, "bad-1") / "groundtruth.txt").unlink(), "groundtruth.txt", None, "not found"),
    ("lasot-flag-count", "lasot",
     lambda r: _gt(_lasot(r, "bad-1"), "0,0", "full_occlusion.txt"), "full_occlusion.txt", None,
     "2 flags but 3 frames"),
    ("lasot-flag-value", "lasot",
     lambda r: _gt(_lasot(r, "bad-1"), "0,2,0", "out_of_view.txt"), "out_of_view.txt", 1, "0/1 flag"),
    ("lasot-empty-sequence", "lasot",
     lambda r: [p.unlink() for p in (_lasot(r, "bad-1") / "img").iterdir()] and
     _gt(r / "bad" / "bad-1", ""), "groundtruth.txt", None, "empty sequence"),
    ("tnl2k-no-imgs-folder", "tnl2k",
     lambda r: [p.unlink() for p in (_tnl2k(r, "bad") / "imgs").iterdir()] and
     (r / "bad" / "imgs").rmdir(), "imgs", None, "frame folder not found"),
    ("tnl2k-infinite", "tnl2k",
     lambda r: _gt(_tnl2k(r, "bad"), "1,1,3,3\n1,inf,3,3\n1,1,3,3\n"), "groundtruth.txt", 2, "infinite"),
    ("otb-five-columns", "otb99lang",
     lambda r: _gt(_otb(r, "Bad"), "1\t1\t3\t3\n1\t1\t3\t3\t9\n1\t1\t3\t3\n", "groundtruth_rect.txt"),
     "groundtruth_rect.txt", 2, "got 5"),
    ("got10k-listed-folder-missing", "got10k",
     lambda r: (r / "list.txt").write_text((r / "list.txt").read_text() + "GOT-10k_Val_000099\n"),
     "list.txt", 2, "listed but missing"),
    ("got10k-absence-count", "got10k",
     lambda r: _gt(_got(r, "bad"), "0\n1\n", "absence.label"), "absence.label", None, "2 flags but 3 frames"),
    ("got10k-cover-level", "got10k",
     lambda r: _gt(_got(r, "bad"), "8\n9\n8\n", "cover.label"), "cover.label", 2, "cover level"),
    ("got10k-meta-garbage", "got10k",
     lambda r: _gt(_got(r, "bad"), "[METAINFO]\nobject_class: dove\nthis line has no delimiter\n",
                   "meta_info.ini"), "meta_info.ini", 3, "malformed meta_info.ini"),
    ("coco-negative-size", "coco",
     lambda r: _coco(r, {"id": 2, "image_id": 1, "bbox": [1, 1, -3, 3]}), "annotations.json", None,
     "annotations[1]: bbox has a non-positive"),
    ("coco-image-missing", "coco",
     lambda r: _coco(r, {"id": 2, "image_id": 2, "bbox": [1, 1, 3, 3]}), "annotations.json", None,
     "gone.jpg not found"),
    ("folder-empty-groundtruth", "folder",
     lambda r: _gt(_folder(r, "bad"), ""), "groundtruth.txt", None, "0 boxes but 3 frames"),
]


def _build(tmp_path: Path, fmt: str, corrupt: Callable[[Path], None]) -> Path:
    root = tmp_path / "ds"
    good = {"lasot": lambda: _lasot(root, "good-1"), "tnl2k": lambda: _tnl2k(root, "good"),
            "otb99lang": lambda: _otb(root, "Good"), "got10k": lambda: _got(root, "good"),
            "coco": lambda: None, "folder": lambda: _folder(root, "good")}
    good[fmt]()
    corrupt(root)
    return root


@pytest.mark.parametrize(("case", "fmt", "corrupt", "file", "line", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_strict_raises_with_file_and_line(tmp_path: Path, case: str, fmt: str, corrupt: Callable[[Path], None],
                                          file: str, line: int | None, fragment: str) -> None:
    root = _build(tmp_path, fmt, corrupt)
    with pytest.raises(DataError) as info:
        load_dataset(root, fmt, strict=True)
    err = info.value
    assert err.file is not None and Path(err.file).name == file, str(err)
    assert err.line == line, str(err)
    assert fragment in str(err)
    assert str(err).startswith(err.file)  # the message itself names the file (and line)


@pytest.mark.parametrize(("case", "fmt", "corrupt", "file", "line", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_lenient_skips_the_bad_video_with_one_warning(tmp_path: Path, case: str, fmt: str,
                                                      corrupt: Callable[[Path], None], file: str,
                                                      line: int | None, fragment: str) -> None:
    root = _build(tmp_path, fmt, corrupt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        videos = load_dataset(root, fmt, strict=False)
    data_warnings = [w for w in caught if issubclass(w.category, DataWarning)]
    assert len(data_warnings) == 1, [str(w.message) for w in data_warnings]
    assert fragment in str(data_warnings[0].message) and "skipping" in str(data_warnings[0].message)
    assert len(videos) == 1
    assert fmt == "coco" or "good" in videos[0].name.lower()


def test_suite_is_large_enough() -> None:
    assert len(CASES) >= 15


def test_structural_errors_fail_in_both_modes(tmp_path: Path) -> None:
    (tmp_path / "annotations.json").write_text('{"images": [],\n "annotations": [,]}')
    for strict in (True, False):
        with pytest.raises(DataError, match=r"annotations.json:2: invalid JSON"):
            load_dataset(tmp_path, "coco", strict=strict)
