"""Tracking results on disk in the pysot/LaSOT layout: `<dir>/<tracker>/<video>.txt`,
one `x,y,w,h` per frame. Other toolkits can score nasvl's files and nasvl theirs;
reading also accepts tab/space separators (pytracking) and GOT-10k's
`<tracker>/<video>/<video>_001.txt`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nasvl.errors import DataError
from nasvl.io import atomic_write_text

_SEP = re.compile(r"[,\t ]+")
NO_RESULTS = "no results for this video"


def result_path(results_dir: str | Path, tracker: str, video_name: str) -> Path:
    return Path(results_dir) / tracker / f"{video_name}.txt"


def write_results(results_dir: str | Path, tracker: str, video_name: str, boxes: Sequence[Sequence[float]] | np.ndarray,
                  *, overwrite: bool = True) -> Path:
    """Write one video's boxes atomically; NaN rows are written as `nan,nan,nan,nan` (misses)."""
    arr = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    path = result_path(results_dir, tracker, video_name)
    if path.exists() and not overwrite:
        raise DataError("results exist already (pass overwrite=True to replace them)", file=str(path))
    text = "".join(",".join(_fmt(v) for v in row) + "\n" for row in arr)
    return atomic_write_text(path, text)


def _fmt(v: float) -> str:
    # Four decimals keep sub-pixel precision; `g` would switch to exponents for far-off boxes.
    return "nan" if not np.isfinite(v) else f"{v:.4f}".rstrip("0").rstrip(".")


def read_results(results_dir: str | Path, tracker: str, video_name: str, *, max_rows: int | None = None) -> np.ndarray:
    """One video's boxes as an N×4 float64 array; bad lines raise with file and line.

    A row is four finite numbers, or `nan,nan,nan,nan`: the miss marker `write_results` writes
    for a frame without a prediction. A row mixing NaN with numbers, or holding an infinity, is a
    broken file, not a miss. Reading stops past `max_rows` rows (the caller's frame count), so a
    huge file of another video is refused without being read in whole.
    """
    path = result_path(results_dir, tracker, video_name)
    if not path.is_file():
        got = Path(results_dir) / tracker / video_name / f"{video_name}_001.txt"
        if not got.is_file():
            raise DataError(NO_RESULTS, file=str(path))
        path = got
    rows = []
    with path.open(encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            if max_rows is not None and len(rows) >= max_rows:
                # Count the rest without parsing or keeping it: the message gives the real length.
                total = len(rows) + 1 + sum(1 for rest in f if rest.strip())
                raise DataError(f"{total} boxes for a {max_rows}-frame video (results of another video?)",
                                file=str(path))
            parts = [p for p in _SEP.split(line.strip()) if p]
            if len(parts) != 4:
                raise DataError(f"expected 4 values (x,y,w,h), got {len(parts)}", file=str(path), line=lineno)
            try:
                row = [float(p) for p in parts]
            except ValueError:
                raise DataError(f"not a number in {line.strip()[:60]!r}", file=str(path), line=lineno) from None
            finite = np.isfinite(row)
            if not finite.all() and not np.isnan(row).all():
                raise DataError(f"NaN or infinite value in {line.strip()[:60]!r} (a frame without a prediction "
                                f"is written nan,nan,nan,nan)", file=str(path), line=lineno)
            rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def list_trackers(results_dir: str | Path) -> list[str]:
    """Sub-folders of `results_dir` that hold result files, sorted."""
    root = Path(results_dir)
    if not root.is_dir():
        raise DataError("results folder not found", file=str(root))
    return sorted(d.name for d in root.iterdir()
                  if d.is_dir() and not d.name.startswith(".") and _has_results(d))


def _has_results(folder: Path) -> bool:
    return any(folder.glob("*.txt")) or any(folder.glob("*/*_001.txt"))
