"""LaSOT and LaSOT_ext: `<class>/<class-k>/img/%08d.jpg` with comma-separated `groundtruth.txt`,
per-frame `full_occlusion.txt` / `out_of_view.txt` (one comma-separated line) and `nlp.txt`.

The synthetic benchmark is written in this layout, so this reader is what reads it back.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from nasvl.data.attributes import derive_attributes, read_synth_tags
from nasvl.data.readers.lasot_split import LASOT_TEST
from nasvl.data.registry import register_format
from nasvl.data.textio import (
    check_counts,
    check_numbered_frames,
    list_frames,
    read_boxes,
    read_flags,
    read_optional_sentence,
)
from nasvl.data.video import Video
from nasvl.errors import DataError

Pending = tuple[str, Callable[[], Video]]


@register_format("lasot", layout="expected <class>/<class-k>/img/*.jpg and groundtruth.txt")
def discover(root: Path, split: str | None) -> list[Pending]:
    """Sequence folders under `root`.

    `split`: when `root/<split>` is a folder it is read whole (pre-split layouts such as
    the synthetic benchmark); otherwise "test" selects the official 280 test videos and
    "train" all others; None reads everything (LaSOT_ext).
    """
    base, keep = root, None
    if split is not None:
        if (root / split).is_dir():
            base = root / split
        elif split == "test":
            keep = lambda name: name in LASOT_TEST  # noqa: E731
        elif split == "train":
            keep = lambda name: name not in LASOT_TEST  # noqa: E731
        else:
            raise DataError(f"unknown LaSOT split {split!r} (known: train, test, or a sub-folder name)",
                            file=str(root))
    out: list[Pending] = []
    for class_dir in sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for seq_dir in sorted(p for p in class_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if keep is None or keep(seq_dir.name):
                out.append((seq_dir.name, partial(read_sequence, seq_dir)))
    return out


def read_sequence(seq_dir: Path, dataset: str = "lasot") -> Video:
    gt_file = seq_dir / "groundtruth.txt"
    if not gt_file.is_file():
        raise DataError("groundtruth.txt not found", file=str(gt_file))
    boxes = read_boxes(gt_file, allow_negative_size=True)
    frames = list_frames(seq_dir / "img")
    check_numbered_frames(frames, gt_file)
    check_counts(frames, boxes, gt_file, seq_dir / "img")
    n = len(frames)
    if n == 0:
        raise DataError("empty sequence: no frames and no boxes", file=str(gt_file))
    flags = {}
    for key in ("full_occlusion", "out_of_view"):
        path = seq_dir / f"{key}.txt"
        # Missing flag files are a real LaSOT quirk of partial downloads: no flags means visible.
        flags[key] = read_flags(path, n) if path.is_file() else np.zeros(n, dtype=bool)
    flagged = flags["full_occlusion"] | flags["out_of_view"]
    # Real LaSOT has negative sizes (lion-5 frame 553 is 1,1,-1,-1) in frames it flags absent, where
    # the box "may be a random box"; anywhere else a negative size is a broken file.
    negative = np.flatnonzero(((boxes[:, 2] < 0) | (boxes[:, 3] < 0)) & ~flagged)
    if len(negative):
        raise DataError(f"negative box size {boxes[negative[0]].tolist()} in a frame not flagged in "
                        f"full_occlusion.txt/out_of_view.txt", file=str(gt_file), line=int(negative[0]) + 1)
    # LaSOT writes 0,0,0,0 where the target is gone; treat that as absent even if unflagged.
    empty = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    absent = flagged | empty
    attrs = {"class": seq_dir.parent.name,
             **derive_attributes(boxes, absent, full_occlusion=flags["full_occlusion"],
                                 out_of_view=flags["out_of_view"]),
             **read_synth_tags(seq_dir)}  # the synthetic benchmark's content tags (none on real LaSOT)
    return Video(name=seq_dir.name, frames=frames, boxes=boxes, absent=absent,
                 description=read_optional_sentence(seq_dir / "nlp.txt"), attributes=attrs, dataset=dataset)
