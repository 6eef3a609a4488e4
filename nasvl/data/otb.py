"""OTB99-LANG: OTB videos (`<video>/img/%04d.jpg`, `groundtruth_rect.txt` separated by commas,
tabs or spaces) plus the sentences in `OTB_query_{train,test}/<video>.txt`.

Split "train"/"test" keeps the videos listed in that query folder; None keeps every video
and takes a sentence from whichever query folder has one. OTB's two-target videos ship
`groundtruth_rect.1.txt`/`.2.txt`; they become `<video>-1` and `<video>-2`, as in OTB-LANG.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from nasvl.data.attributes import derive_attributes
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
    if frames and frames[0].stem.isdigit():
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
