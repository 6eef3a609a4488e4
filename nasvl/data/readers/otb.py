"""OTB99-LANG: OTB videos (`<video>/img/%04d.jpg`, `groundtruth_rect.txt` separated by commas,
tabs or spaces) plus the sentences in `OTB_query_{train,test}/<video>.txt`.

Split "train"/"test" keeps the videos listed in that query folder; None keeps every video
and takes a sentence from whichever query folder has one. OTB's two-target videos ship
`groundtruth_rect.1.txt`/`.2.txt`; they become `<video>-1` and `<video>-2`, as in OTB-LANG.

A few OTB videos annotate only part of their frame folder. The OTB toolkit's sequence table
(`configSeqs`, as pytracking and the got10k toolkit restate it) gives their first and last
annotated frame; the video is those frames, and the frames outside are not part of it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from nasvl.data.attributes import derive_attributes
from nasvl.data.registry import register_format
from nasvl.data.textio import (
    check_counts,
    check_numbered_frames,
    list_frames,
    read_boxes,
    read_optional_sentence,
)
from nasvl.data.video import Video
from nasvl.errors import DataError

Pending = tuple[str, Callable[[], Video]]
_QUERY = {"train": "OTB_query_train", "test": "OTB_query_test"}
# (first, last) annotated frame of the OTB-100 videos whose ground truth does not cover the whole
# img/ folder, from the OTB toolkit's sequence table. Every other video starts at its first frame.
OTB_RANGES: dict[str, tuple[int, int]] = {
    "BlurCar1": (247, 988), "BlurCar3": (3, 359), "BlurCar4": (18, 397), "David": (300, 770),
    "Diving": (1, 215), "Football1": (1, 74), "Freeman3": (1, 460), "Freeman4": (1, 283),
}


@register_format("otb99lang", layout="expected <video>/img/*.jpg and groundtruth_rect.txt")
def discover(root: Path, split: str | None) -> list[Pending]:
    if split is not None and split not in _QUERY:
        raise DataError(f"unknown OTB99-LANG split {split!r} (known: test, train)", file=str(root))
    query_dirs = [root / _QUERY[split]] if split else [root / q for q in _QUERY.values()]
    wanted = None
    if split is not None:
        if not query_dirs[0].is_dir():
            raise DataError(f"query folder {_QUERY[split]} not found", file=str(root))
        wanted = {p.stem for p in query_dirs[0].glob("*.txt")}
    out: list[Pending] = []
    for vdir in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in _QUERY.values()
                       and not p.name.startswith(".")):
        gts = sorted(vdir.glob("groundtruth_rect.*.txt"))
        pairs = ([(f"{vdir.name}-{g.name.split('.')[1]}", g) for g in gts] if gts and
                 not (vdir / "groundtruth_rect.txt").is_file() else [(vdir.name, vdir / "groundtruth_rect.txt")])
        for name, gt in pairs:
            if wanted is None or name in wanted:
                out.append((name, partial(read_sequence, vdir, gt, name, query_dirs)))
    if wanted:
        missing = sorted(wanted - {name for name, _ in out})
        if missing:
            # A query without its video is a broken download, not a skippable video.
            raise DataError(f"videos listed in {_QUERY[split]} but missing: {', '.join(missing[:5])}",
                            file=str(root / _QUERY[split]))
    return out


def read_sequence(vdir: Path, gt_file: Path, name: str, query_dirs: list[Path]) -> Video:
    if not gt_file.is_file():
        raise DataError("groundtruth_rect.txt not found", file=str(gt_file))
    boxes = read_boxes(gt_file)
    frames = list_frames(vdir / "img")
    if vdir.name in OTB_RANGES:
        frames = _annotated_range(frames, vdir.name, boxes, gt_file)
    elif frames and frames[0].stem.isdigit():
        check_numbered_frames(frames, gt_file, start=int(frames[0].stem))
    check_counts(frames, boxes, gt_file, vdir / "img")
    if not frames:
        raise DataError("empty sequence: no frames and no boxes", file=str(gt_file))
    absent = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    description = None
    for qdir in query_dirs:
        description = read_optional_sentence(qdir / f"{name}.txt")
        if description:
            break
    return Video(name=name, frames=frames, boxes=boxes, absent=absent, description=description,
                 attributes=derive_attributes(boxes, absent), dataset="otb99lang")


def _annotated_range(frames: list[Path], video: str, boxes: np.ndarray, gt_file: Path) -> list[Path]:
    """The frames the OTB toolkit pairs with `video`'s ground truth; located errors otherwise."""
    first, last = OTB_RANGES[video]
    if len(boxes) != last - first + 1:
        raise DataError(f"{len(boxes)} boxes, but the OTB toolkit annotates frames {first}..{last} of {video} "
                        f"({last - first + 1} boxes)", file=str(gt_file))
    kept = [f for f in frames if f.stem.isdigit() and first <= int(f.stem) <= last]
    if not kept or int(kept[0].stem) != first:
        raise DataError(f"frame {first} (the first annotated frame of {video} in the OTB toolkit) not found",
                        file=str(gt_file))
    check_numbered_frames(kept, gt_file, start=first)
    return kept
