"""Corrupt datasets, frames, results files and tracking input, thrown at the real CLI.

Each case is what a user of a tracking toolkit actually meets: a half-copied download (truncated or
zero-byte frames), an HTML error page saved as a JPEG, a "decompression bomb" frame, a folder with no
videos, a results file cut short by a crash or shifted by one video, a typo in the first box. Every
case must be refused with the file (and line where there is one) and the rule, without a traceback,
within bounded time and memory, and without writing anything.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.adversarial.harness import assert_contained, assert_refused, run_nasvl, snapshot

N = 6  # frames per video: small, so every case stays about one CLI start


# ---- tiny datasets (the same layouts as tests/data/test_data_corrupt.py) ------------------------

def _img(path: Path, ext_value: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = np.full((48, 64, 3), ext_value, np.uint8)
    frame[10:30, 20:40] = (0, 0, 255)
    assert cv2.imwrite(str(path), frame)


def lasot(root: Path, name: str = "cat-1", n: int = N, nlp: str = "a red square") -> Path:
    seq = root / name.rsplit("-", 1)[0] / name
    for i in range(n):
        _img(seq / "img" / f"{i + 1:08d}.jpg")
    (seq / "groundtruth.txt").write_text("".join(f"{20 + i},10,20,20\n" for i in range(n)))
    (seq / "full_occlusion.txt").write_text(",".join(["0"] * n))
    (seq / "out_of_view.txt").write_text(",".join(["0"] * n))
    (seq / "nlp.txt").write_text(nlp, encoding="utf-8")
    return seq


def tnl2k(root: Path, name: str = "bird", n: int = N) -> Path:
    seq = root / name
    for i in range(n):
        _img(seq / "imgs" / f"{i:05d}.png")
    (seq / "groundtruth.txt").write_text("20,10,20,20\n" * n)
    (seq / "language.txt").write_text("a bird")
    return seq


def frame(seq: Path, k: int = 2) -> Path:
    """The k-th frame of a LaSOT/TNL2K sequence (1-based)."""
    folder = seq / "img" if (seq / "img").is_dir() else seq / "imgs"
    return sorted(folder.iterdir())[k - 1]


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def huge_jpeg(path: Path) -> None:
    """A small JPEG whose frame header claims 30000×30000 pixels: a 2.7 GB decode if trusted."""
    data = bytearray(path.read_bytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", 30000, 30000)
    path.write_bytes(bytes(data))


# ---- data check ---------------------------------------------------------------------------------

def _garbage(n: int, seed: int = 0) -> bytes:
    """Random-looking bytes that are the same on every run, so a case always exercises the same rule."""
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def _bad_frame(how: Callable[[Path], None]) -> Callable[[Path], tuple[Path, str]]:
    def build(root: Path) -> tuple[Path, str]:
        lasot(root, "dog-1")
        target = frame(lasot(root, "cat-1"), 3)
        how(target)
        return target, "lasot"
    return build


def _png_truncated(root: Path) -> tuple[Path, str]:
    target = frame(tnl2k(root), 4)
    truncate(target)
    return target, "tnl2k"


CHECK_CASES = {
    # case: (build -> (file to name, format), extra flags, message fragments)
    "truncated-jpeg": (_bad_frame(truncate), [], ["truncated JPEG"]),
    "random-bytes-jpeg": (_bad_frame(lambda p: p.write_bytes(_garbage(3000))), [], ["not a JPEG, PNG or BMP"]),
    "zero-byte-frame": (_bad_frame(lambda p: p.write_bytes(b"")), [], ["empty file"]),
    "html-saved-as-jpeg": (_bad_frame(lambda p: p.write_text("<html><body>404 Not Found</body></html>")), [],
                           ["not a JPEG, PNG or BMP"]),
    "30000x30000-jpeg": (_bad_frame(huge_jpeg), [], ["30000×30000", "NASVL_LIMIT_FRAME_PIXELS"]),
    # Which rule random bytes break depends on the bytes (no SOF, a bad length, no EOI), so the check is
    # that the refusal names the JPEG; the garbage is seeded so every run breaks the same rule.
    "jpeg-header-then-garbage": (_bad_frame(lambda p: p.write_bytes(b"\xff\xd8\xff" + _garbage(2000))), [],
                                 ["bad frame", "JPEG"]),
    "truncated-png": (_png_truncated, [], ["truncated PNG"]),
}


@pytest.mark.parametrize("case", list(CHECK_CASES))
def test_data_check_decodes_every_frame(tmp_path: Path, case: str) -> None:
    build, flags, fragments = CHECK_CASES[case]
    target, fmt = build(tmp_path / "ds")
    before = snapshot(tmp_path)
    out = run_nasvl(["data", "check", "--dataset", tmp_path / "ds", "--format", fmt, *flags], cwd=tmp_path)
    assert_refused(out, code=2, mentions=[str(target), *fragments])
    assert f"{target}: bad frame:" in out.stderr  # listed one per line, not only the first
    assert_contained(tmp_path, tmp_path / "out", before)


def test_data_check_lists_every_bad_frame(tmp_path: Path) -> None:
    seq = lasot(tmp_path / "ds")
    bad = [frame(seq, 2), frame(seq, 5)]
    bad[0].write_bytes(b"")
    truncate(bad[1])
    out = run_nasvl(["data", "check", "--dataset", tmp_path / "ds", "--format", "lasot"], cwd=tmp_path)
    assert_refused(out, code=2, mentions=["2 bad frame(s) in 1 video(s)"])
    for path in bad:
        assert f"{path}: bad frame:" in out.stderr


def test_data_check_fast_says_it_did_not_decode(tmp_path: Path) -> None:
    truncate(frame(lasot(tmp_path / "ds"), 2))
    out = run_nasvl(["data", "check", "--dataset", tmp_path / "ds", "--format", "lasot", "--fast"], cwd=tmp_path)
    assert out.code == 0, out.output
    assert "NOT decoded" in out.stdout


DATASET_CASES = {
    # case: (build(root) -> file to name, command args after --dataset ROOT, env, fragments)
    "lasot-no-videos": (lambda r: (r.mkdir(parents=True), r)[1], ["--format", "lasot"], {}, ["no videos found"]),
    "lasot-no-videos-fast": (lambda r: (r.mkdir(parents=True), r)[1], ["--format", "lasot", "--fast"], {},
                             ["no videos found"]),
    "got10k-empty-list": (lambda r: (r.mkdir(parents=True), (r / "list.txt").write_text("\n"), r)[2],
                          ["--format", "got10k"], {}, ["no videos found"]),
    "too-many-videos": (lambda r: (lasot(r, "a-1"), lasot(r, "b-1"), r)[2], ["--format", "lasot", "--fast"],
                        {"NASVL_LIMIT_DATASET_VIDEOS": "1"}, ["NASVL_LIMIT_DATASET_VIDEOS"]),
    "too-many-frames": (lambda r: lasot(r) / "img", ["--format", "lasot", "--fast"],
                        {"NASVL_LIMIT_VIDEO_FRAMES": "4"}, ["frames in one video", "NASVL_LIMIT_VIDEO_FRAMES"]),
    "description-too-long": (lambda r: lasot(r, nlp="word " * 1000) / "nlp.txt", ["--format", "lasot", "--fast"],
                             {}, ["NASVL_LIMIT_DESCRIPTION_CHARS"]),
    "description-rtl-override": (lambda r: lasot(r, nlp="a red \u202ecar") / "nlp.txt",
                                 ["--format", "lasot", "--fast"], {}, ["control character", "\\u202e"]),
    "groundtruth-nan": (lambda r: (lasot(r), (r / "cat" / "cat-1" / "groundtruth.txt").write_text(
        "1,1,3,3\nnan,1,3,3\n" + "1,1,3,3\n" * (N - 2)), r / "cat" / "cat-1" / "groundtruth.txt:2")[2],
                        ["--format", "lasot", "--fast"], {}, ["NaN or infinite"]),
}


@pytest.mark.parametrize("case", list(DATASET_CASES))
def test_data_check_refuses_broken_datasets(tmp_path: Path, case: str) -> None:
    build, args, env, fragments = DATASET_CASES[case]
    named = build(tmp_path / "ds")
    before = snapshot(tmp_path)
    out = run_nasvl(["data", "check", "--dataset", tmp_path / "ds", *args], cwd=tmp_path, env=env)
    assert_refused(out, code=2, mentions=[str(named), *fragments])
    assert_contained(tmp_path, tmp_path / "out", before)


# ---- data pairs-debug -----------------------------------------------------------------------------

@pytest.mark.parametrize("case,how,fragment", [
    ("zero-byte-frame", lambda p: p.write_bytes(b""), "empty file"),
    ("truncated-jpeg", truncate, "truncated JPEG"),
])
def test_pairs_debug_refuses_bad_frames(tmp_path: Path, case: str, how: Callable[[Path], None],
                                        fragment: str) -> None:
    lasot(tmp_path / "ds", "dog-1")
    target = frame(lasot(tmp_path / "ds", "cat-1"), 4)
    how(target)
    before = snapshot(tmp_path)
    out = run_nasvl(["data", "pairs-debug", "--dataset", tmp_path / "ds", "--format", "lasot", "--out",
                     tmp_path / "out" / "pairs.png", "-n", "4"], cwd=tmp_path)
    assert_refused(out, code=2, mentions=[str(target), fragment])
    assert not (tmp_path / "out" / "pairs.png").exists()
    assert_contained(tmp_path, tmp_path / "out", before)


# ---- eval -----------------------------------------------------------------------------------------

def _results(root: Path, text: str) -> Path:
    path = root / "results" / "mine" / "cat-1.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


GOOD_ROW = "20,10,20,20\n"
EVAL_CASES = {
    # case: (results text, extra flags, ":line" suffix of the named file or "", fragments)
    "empty-results-file": ("", [], "", ["0 boxes for a 6-frame video", "--missing miss"]),
    "five-rows-for-six-frames": (GOOD_ROW * 5, [], "", ["5 boxes for a 6-frame video"]),
    "rows-of-another-video": (GOOD_ROW * 40, ["--missing", "miss"], "", ["40 boxes for a 6-frame video"]),
    "nan-in-a-row": (GOOD_ROW * 2 + "20,nan,20,20\n" + GOOD_ROW * 3, [], ":3", ["NaN or infinite"]),
    "inf-in-a-row": (GOOD_ROW * 4 + "inf,10,20,20\n" + GOOD_ROW, [], ":5", ["NaN or infinite"]),
    "three-values": (GOOD_ROW + "20,10,20\n" + GOOD_ROW * 4, [], ":2", ["expected 4 values"]),
    "not-a-number-even-with-missing-miss": (GOOD_ROW * 3 + "20,10,abc,20\n" + GOOD_ROW * 2, ["--missing", "miss"],
                                            ":4", ["not a number"]),
}


@pytest.mark.parametrize("case", list(EVAL_CASES))
def test_eval_refuses_bad_results(tmp_path: Path, case: str) -> None:
    text, flags, line, fragments = EVAL_CASES[case]
    lasot(tmp_path / "ds")
    path = _results(tmp_path, text)
    before = snapshot(tmp_path)
    out = run_nasvl(["eval", "--dataset", tmp_path / "ds", "--format", "lasot", "--results", tmp_path / "results",
                     "--plots", tmp_path / "out", *flags], cwd=tmp_path)
    assert_refused(out, code=2, mentions=[f"{path}{line}", *fragments])
    assert_contained(tmp_path, tmp_path / "out", before)


def test_eval_on_a_dataset_without_videos(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    _results(tmp_path, GOOD_ROW * N)
    out = run_nasvl(["eval", "--dataset", tmp_path / "ds", "--format", "lasot", "--results", tmp_path / "results"],
                    cwd=tmp_path)
    assert_refused(out, code=2, mentions=[str(tmp_path / "ds"), "no videos found"])


def test_eval_tracker_name_is_not_a_path(tmp_path: Path) -> None:
    lasot(tmp_path / "ds")
    _results(tmp_path, GOOD_ROW * N)
    out = run_nasvl(["eval", "--dataset", tmp_path / "ds", "--format", "lasot", "--results", tmp_path / "results",
                     "--trackers", "../../etc"], cwd=tmp_path)
    assert_refused(out, code=2, mentions=["--trackers entry", "not a plain name"])


def test_eval_short_file_is_scored_with_missing_miss(tmp_path: Path) -> None:
    lasot(tmp_path / "ds")
    _results(tmp_path, GOOD_ROW * 3)
    out = run_nasvl(["eval", "--dataset", tmp_path / "ds", "--format", "lasot", "--results", tmp_path / "results",
                     "--plots", tmp_path / "plots", "--missing", "miss"], cwd=tmp_path)
    assert out.code == 0, out.output


# ---- track: the first box, the description and the frames ------------------------------------------

@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nasvl.export import save_subnet
    from tests.trackers.conftest import sample_arch, tiny_supernet

    net, space = tiny_supernet("tiny_siamcar.yaml")
    return save_subnet(net.extract(sample_arch(space)), tmp_path_factory.mktemp("model") / "export")


def _video(root: Path) -> Path:
    for i in range(N):
        _img(root / "video" / "img" / f"{i + 1:08d}.jpg")
    return root / "video"


TRACK_CASES = {
    # case: (--init, extra args, damage to the video -> file to name or None, fragments)
    "nan-box": ("nan,10,20,20", [], None, ["--init", "finite"]),
    "inf-size": ("10,10,inf,20", [], None, ["--init", "finite"]),
    "negative-size": ("10,10,-20,20", [], None, ["--init", "positive w and h"]),
    "1e9-box": ("1e9,1e9,1e9,1e9", [], None, ["--init", "does not fit the first frame"]),
    "box-far-outside": ("5000,10,20,20", [], None, ["--init", "must overlap the frame"]),
    "text-too-long": ("20,10,20,20", ["--text", "x" * 5000], None, ["--text", "NASVL_LIMIT_DESCRIPTION_CHARS"]),
    "text-escape-sequence": ("20,10,20,20", ["--text", "red \x1b[2Jcar"], None, ["--text", "control character"]),
    "zero-byte-later-frame": ("20,10,20,20", [], lambda v: (frame(v, 5).write_bytes(b""), frame(v, 5))[1],
                              ["empty file"]),
    "30000x30000-first-frame": ("20,10,20,20", [], lambda v: (huge_jpeg(frame(v, 1)), frame(v, 1))[1],
                                ["NASVL_LIMIT_FRAME_PIXELS"]),
    "too-many-frames": ("20,10,20,20", ["--env", "NASVL_LIMIT_VIDEO_FRAMES=3"], lambda v: v / "img",
                        ["NASVL_LIMIT_VIDEO_FRAMES"]),
}


@pytest.mark.parametrize("case", list(TRACK_CASES))
def test_track_refuses_bad_input(tmp_path: Path, model: Path, case: str) -> None:
    init, extra, damage, fragments = TRACK_CASES[case]
    video = _video(tmp_path)
    named = damage(video) if damage else None
    env = {}
    if extra[:1] == ["--env"]:
        key, value = extra[1].split("=")
        env, extra = {key: value}, extra[2:]
    before = snapshot(tmp_path)
    out = run_nasvl(["track", "--model", model, "--video", video, "--init", init, "--out",
                     tmp_path / "out" / "boxes.txt", "--quiet", *extra], cwd=tmp_path, env=env)
    assert_refused(out, code=2, mentions=[*([str(named)] if named else []), *fragments])
    assert not (tmp_path / "out" / "boxes.txt").exists()
    assert_contained(tmp_path, tmp_path / "out", before)
