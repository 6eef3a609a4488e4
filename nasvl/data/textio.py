"""Reading the small text files benchmarks are made of, with located errors.

Every parse error names the file and the 1-based line, so a broken download
is found in seconds. Text that is not UTF-8 is decoded as latin-1 with a
warning rather than an error: old OTB query files are latin-1 in the wild.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

from nasvl.config.limits import DESCRIPTION_CHARS, VIDEO_FRAMES
from nasvl.errors import DataError

_SEPARATORS = re.compile(r"[,\t ]+")


class DataWarning(UserWarning):
    """A dataset quirk that was tolerated (encoding fallback, skipped video)."""


def read_text(path: Path) -> str:
    """Whole file as text; UTF-8 first, latin-1 (never fails) with a warning."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError("file not found", file=str(path)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        warnings.warn(f"{path}:{line}: not UTF-8, read as latin-1", DataWarning, stacklevel=2)
        return raw.decode("latin-1")


def read_optional_sentence(path: Path) -> str | None:
    """A one-sentence description file; missing or blank means no description."""
    if not path.is_file():
        return None
    text = " ".join(read_text(path).split())
    return check_description(text, file=str(path)) or None


def check_description(text: str, *, file: str | None = None, what: str = "description") -> str:
    """A target description is printable text under `DESCRIPTION_CHARS`; returned unchanged.

    Command-line text that is not UTF-8 arrives as lone surrogates, and control characters
    (escape sequences, bidirectional overrides) would be echoed to a terminal or a report.
    """
    if len(text) > DESCRIPTION_CHARS.value:
        raise DataError(f"{what}: {DESCRIPTION_CHARS.message(len(text))}", file=file)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DataError(f"{what} is not valid UTF-8 text", file=file) from None
    bad = next((c for c in text if not c.isprintable() and c not in " \t\n"), None)
    if bad is not None:
        raise DataError(f"{what} holds the control character {ascii(bad)}", file=file)
    return text


def _lines(path: Path) -> list[tuple[int, str]]:
    # Keep 1-based numbers of non-blank lines so errors point at the real line.
    return [(i, ln.strip()) for i, ln in enumerate(read_text(path).splitlines(), 1) if ln.strip()]


def read_boxes(path: Path, *, allow_nan: bool = False, allow_negative_size: bool = False) -> np.ndarray:
    """An N×4 xywh table separated by commas, tabs or spaces (all three occur in OTB).

    Rules (strict): exactly 4 numbers per line, finite unless `allow_nan`,
    width and height not negative unless `allow_negative_size` (LaSOT writes arbitrary
    boxes, e.g. 1,1,-1,-1, in frames it flags absent; its reader checks the flags).
    Zero size is legal: benchmarks write 0,0,0,0 for frames where the target is absent.
    """
    rows = []
    for lineno, line in _lines(path):
        parts = [p for p in _SEPARATORS.split(line) if p]
        if len(parts) != 4:
            raise DataError(f"expected 4 numbers (x,y,w,h), got {len(parts)}: {line[:60]!r}",
                            file=str(path), line=lineno)
        try:
            row = [float(p) for p in parts]
        except ValueError:
            raise DataError(f"not a number in {line[:60]!r}", file=str(path), line=lineno) from None
        if not allow_nan and not all(np.isfinite(row)):
            raise DataError(f"NaN or infinite value in {line[:60]!r}", file=str(path), line=lineno)
        if not allow_negative_size and (row[2] < 0 or row[3] < 0):
            raise DataError(f"negative box size in {line[:60]!r}", file=str(path), line=lineno)
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def read_flags(path: Path, n: int) -> np.ndarray:
    """0/1 flags, either one per line (GOT-10k) or comma-separated on one line (LaSOT)."""
    values: list[tuple[int, str]] = []
    for lineno, line in _lines(path):
        values.extend((lineno, p) for p in _SEPARATORS.split(line) if p)
    out = np.zeros(len(values), dtype=bool)
    for k, (lineno, token) in enumerate(values):
        if token not in ("0", "1"):
            raise DataError(f"expected a 0/1 flag, got {token[:20]!r}", file=str(path), line=lineno)
        out[k] = token == "1"
    if len(out) != n:
        raise DataError(f"{len(out)} flags but {n} frames", file=str(path))
    return out


def read_name_list(path: Path) -> list[str]:
    """A list of names, one per line (GOT-10k list.txt); blank lines are ignored."""
    return [line for _, line in _lines(path)]


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def list_frames(folder: Path) -> list[Path]:
    """Image files of a frame folder in name order (zero-padded names sort correctly)."""
    if not folder.is_dir():
        raise DataError("frame folder not found", file=str(folder))
    frames = []
    for p in folder.iterdir():
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            frames.append(p)
            if len(frames) > VIDEO_FRAMES.value:  # stop listing: the folder may hold millions
                raise DataError(f"frame count (at least) {VIDEO_FRAMES.message(len(frames))}", file=str(folder))
    return sorted(frames)


def check_counts(frames: list[Path], boxes: np.ndarray, gt_file: Path, frame_dir: Path) -> None:
    """Frames and boxes must pair up one to one; name the first orphan for the error."""
    if len(boxes) == len(frames):
        return
    if len(boxes) > len(frames):
        raise DataError(f"{len(boxes)} boxes but only {len(frames)} frames in {frame_dir} "
                        f"(missing frames?)", file=str(gt_file), line=len(frames) + 1)
    raise DataError(f"{len(boxes)} boxes but {len(frames)} frames in {frame_dir} "
                    f"(first frame without a box: {frames[len(boxes)].name})", file=str(gt_file))


def check_numbered_frames(frames: list[Path], gt_file: Path, start: int = 1) -> None:
    """Numbered frames (00000001.jpg, ...) must have no gaps: a gap shifts every later box."""
    for k, path in enumerate(frames):
        stem = path.stem
        if stem.isdigit() and int(stem) != k + start:
            raise DataError(f"frame {k + start:08d} is missing (found {path.name} at its place)",
                            file=str(gt_file), line=k + 1)
