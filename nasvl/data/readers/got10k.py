"""GOT-10k: `list.txt`, `<seq>/%08d.jpg`, `groundtruth.txt`, `absence.label`, `cover.label`,
`meta_info.ini`.

GOT-10k has no sentences. Following the paper's footnote 4, the pseudo-description
joins the object, motion, major and root class of `meta_info.ini`, e.g.
"dove, walking, bird, animal". The test split withholds all boxes but the first;
those rows are NaN (the one place a reader emits NaN ground truth).
"""

from __future__ import annotations

import configparser
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nasvl.data.attributes import derive_attributes
from nasvl.data.registry import register_format
from nasvl.data.textio import (
    check_counts,
    check_numbered_frames,
    list_frames,
    read_boxes,
    read_flags,
    read_name_list,
    read_text,
)
from nasvl.data.video import Video
from nasvl.errors import DataError

Pending = tuple[str, Callable[[], Video]]
PSEUDO_KEYS = ("object_class", "motion_class", "major_class", "root_class")


@register_format("got10k", layout="expected list.txt and <video>/*.jpg with groundtruth.txt")
def discover(root: Path, split: str | None) -> list[Pending]:
    """Sequences named in `list.txt` of `root/<split>` (or of `root` itself)."""
    base = root / split if split is not None and (root / split).is_dir() else root
    if split is not None and base is root and root.name != split:
        raise DataError(f"no split folder {split!r} under the GOT-10k root", file=str(root))
    list_file = base / "list.txt"
    names = (read_name_list(list_file) if list_file.is_file()
             else sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")))
    withheld = base.name == "test"
    out: list[Pending] = []
    for lineno, name in enumerate(names, 1):
        out.append((name, partial(read_sequence, base / name, withheld, list_file, lineno)))
    return out


def read_meta(path: Path) -> dict[str, str]:
    """`meta_info.ini` as a flat dict (section headers ignored, `key: value` lines)."""
    parser = configparser.ConfigParser(interpolation=None, delimiters=(":",), strict=False)
    try:
        parser.read_string(read_text(path), source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise DataError("meta_info.ini has no [METAINFO] header", file=str(path), line=exc.lineno) from None
    except configparser.ParsingError as exc:
        lineno = exc.errors[0][0] if exc.errors else None
        raise DataError("malformed meta_info.ini line", file=str(path), line=lineno) from None
    return {k: v.strip() for section in parser.sections() for k, v in parser.items(section)}


def pseudo_description(meta: dict[str, str]) -> str | None:
    """Footnote 4: object/motion/major/root class joined; None if the meta has none of them."""
    words = [meta[k].replace("_", " ") for k in PSEUDO_KEYS if meta.get(k)]
    return ", ".join(words) if words else None


def read_sequence(seq_dir: Path, withheld: bool, list_file: Path, lineno: int) -> Video:
    if not seq_dir.is_dir():
        raise DataError(f"sequence folder {seq_dir.name} listed but missing", file=str(list_file), line=lineno)
    gt_file = seq_dir / "groundtruth.txt"
    if not gt_file.is_file():
        raise DataError("groundtruth.txt not found", file=str(gt_file))
    boxes = read_boxes(gt_file)
    frames = list_frames(seq_dir)
    check_numbered_frames(frames, gt_file)
    if withheld and len(boxes) == 1 and len(frames) > 1:
        boxes = np.vstack([boxes, np.full((len(frames) - 1, 4), np.nan)])
    check_counts(frames, boxes, gt_file, seq_dir)
    n = len(frames)
    if n == 0:
        raise DataError("empty sequence: no frames and no boxes", file=str(gt_file))
    absent = np.zeros(n, dtype=bool)
    if (seq_dir / "absence.label").is_file():
        absent |= read_flags(seq_dir / "absence.label", n)
    if (seq_dir / "cover.label").is_file():
        # The official toolkit scores only frames with cover > 0 (cover is 0..8, 0 = invisible).
        absent |= _read_cover(seq_dir / "cover.label", n) == 0
    if not withheld:
        absent |= (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    meta = read_meta(seq_dir / "meta_info.ini") if (seq_dir / "meta_info.ini").is_file() else {}
    attrs: dict[str, Any] = {k: meta[k] for k in (*PSEUDO_KEYS, "motion_adverb", "resolution") if k in meta}
    attrs.update(derive_attributes(boxes, absent))
    return Video(name=seq_dir.name, frames=frames, boxes=boxes, absent=absent,
                 description=pseudo_description(meta), attributes=attrs, dataset="got10k")


def _read_cover(path: Path, n: int) -> np.ndarray:
    values = []
    for lineno, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        if not line.strip().isdigit() or int(line) > 8:
            raise DataError(f"expected a cover level 0..8, got {line.strip()[:20]!r}", file=str(path), line=lineno)
        values.append(int(line))
    if len(values) != n:
        raise DataError(f"{len(values)} cover levels but {n} frames", file=str(path))
    return np.asarray(values)
