"""A generic folder of videos: `<root>/<video>/` holding frames (directly, or in `img/` or
`imgs/`) and a `groundtruth.txt` with one x,y,w,h per frame (comma, tab or space).

It is the catch-all for vision-only training sources (YouTube-BB, VID exports, own data);
no language, so the source's `zeros`/`template` mode applies.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from nasvl.data.registry import register_format
from nasvl.data.textio import check_counts, list_frames, read_boxes
from nasvl.data.video import Video
from nasvl.errors import DataError

Pending = tuple[str, Callable[[], Video]]


@register_format("folder", layout="expected <video>/ with frames and groundtruth.txt")
def discover(root: Path, split: str | None) -> list[Pending]:
    base = root / split if split is not None else root
    if not base.is_dir():
        raise DataError(f"split folder {split!r} not found", file=str(root))
    return [(d.name, partial(read_sequence, d)) for d in sorted(base.iterdir())
            if d.is_dir() and not d.name.startswith(".")]


def read_sequence(vdir: Path) -> Video:
    gt_file = next((vdir / n for n in ("groundtruth.txt", "groundtruth_rect.txt") if (vdir / n).is_file()), None)
    if gt_file is None:
        raise DataError("groundtruth.txt not found", file=str(vdir / "groundtruth.txt"))
    frame_dir = next((vdir / d for d in ("img", "imgs") if (vdir / d).is_dir()), vdir)
    boxes = read_boxes(gt_file)
    frames = list_frames(frame_dir)
    check_counts(frames, boxes, gt_file, frame_dir)
    if not frames:
        raise DataError("empty sequence: no frames and no boxes", file=str(gt_file))
    absent = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    return Video(name=vdir.name, frames=frames, boxes=boxes, absent=absent, description=None,
                 attributes={}, dataset="folder")
