"""TNL2K: `<video>/imgs/*`, comma-separated `groundtruth.txt`, one-sentence `language.txt`.

TNL2K has no absent flags; a 0,0,0,0 box marks a frame without the target.

Frames are ordered by their number when every name is a number (TNL2K's names are not all
zero-padded alike), else by name. Two videos of the first release carry one box more than
they have frames; the official VLT evaluation drops that last row, and so does this reader.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from nasvl.data.attributes import derive_attributes
from nasvl.data.registry import register_format
from nasvl.data.textio import check_counts, list_frames, read_boxes, read_optional_sentence
from nasvl.data.video import Video
from nasvl.errors import DataError

Pending = tuple[str, Callable[[], Video]]
# Videos whose groundtruth.txt has one trailing row without a frame (TNL2K's first release).
EXTRA_LAST_ROW = frozenset({"advSamp_Baseball_game_002-Done", "advSamp_monitor_bikeyellow"})


@register_format("tnl2k", layout="expected <video>/imgs/* and groundtruth.txt")
def discover(root: Path, split: str | None) -> list[Pending]:
    """Video folders of `root` (or `root/<split>` when that folder exists, e.g. TNL2K's test subset)."""
    base = root / split if split is not None and (root / split).is_dir() else root
    if split is not None and base is root:
        raise DataError(f"no split folder {split!r} under the TNL2K root", file=str(root))
    return [(d.name, partial(read_sequence, d)) for d in sorted(base.iterdir())
            if d.is_dir() and not d.name.startswith(".")]


def read_sequence(seq_dir: Path) -> Video:
    gt_file = seq_dir / "groundtruth.txt"
    if not gt_file.is_file():
        raise DataError("groundtruth.txt not found", file=str(gt_file))
    boxes = read_boxes(gt_file)
    frames = list_frames(seq_dir / "imgs")
    if frames and all(f.stem.isdigit() for f in frames):
        frames.sort(key=lambda f: int(f.stem))  # 9.jpg before 10.jpg
    if seq_dir.name in EXTRA_LAST_ROW and len(boxes) == len(frames) + 1:
        boxes = boxes[:-1]
    check_counts(frames, boxes, gt_file, seq_dir / "imgs")
    if not frames:
        raise DataError("empty sequence: no frames and no boxes", file=str(gt_file))
    absent = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    return Video(name=seq_dir.name, frames=frames, boxes=boxes, absent=absent,
                 description=read_optional_sentence(seq_dir / "language.txt"),
                 attributes=derive_attributes(boxes, absent), dataset="tnl2k")
