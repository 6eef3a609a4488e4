"""`load_dataset`: one entry point over every reader, with strict and lenient modes.

Strict (the default, for evaluation) raises the first `DataError`, which names the
file and line. Lenient (for training, where one broken video among thousands should
not stop a run) skips each bad video with exactly one warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

from nasvl.config.limits import DATASET_VIDEOS
from nasvl.data import coco, folder, got10k, lasot, otb, tnl2k
from nasvl.data.textio import DataWarning
from nasvl.data.video import Video
from nasvl.errors import DataError, known

_READERS: dict[str, Callable[[Path, str | None], list[tuple[str, Callable[[], Video]]]]] = {
    "lasot": lasot.discover,
    "tnl2k": tnl2k.discover,
    "otb99lang": otb.discover,
    "got10k": got10k.discover,
    "coco": coco.discover,
    "folder": folder.discover,
}
FORMATS: tuple[str, ...] = tuple(sorted(_READERS))
_LAYOUTS = {  # what a user should see in the folder, for the "no videos" message
    "lasot": "expected <class>/<class-k>/img/*.jpg and groundtruth.txt",
    "tnl2k": "expected <video>/imgs/* and groundtruth.txt",
    "otb99lang": "expected <video>/img/*.jpg and groundtruth_rect.txt",
    "got10k": "expected list.txt and <video>/*.jpg with groundtruth.txt",
    "coco": "expected annotations.json with at least one non-crowd annotation",
    "folder": "expected <video>/ with frames and groundtruth.txt",
}


def load_dataset(root: str | Path, format: str, split: str | None = None, strict: bool = True) -> list[Video]:
    """Read every video of a benchmark at `root` in `format` (see `FORMATS`)."""
    if format not in _READERS:
        raise DataError(f"unknown dataset format {format!r} {known(_READERS)}")
    root = Path(root)
    if not root.is_dir():
        raise DataError("dataset folder not found", file=str(root))
    pending = _READERS[format](root, split)
    if not pending:
        where = f"{root}/{split}" if split is not None and (root / split).is_dir() else str(root)
        raise DataError(f"no videos found: not a {format} dataset, or an empty one ({_LAYOUTS[format]})",
                        file=where)
    if len(pending) > DATASET_VIDEOS.value:
        raise DataError(f"video count {DATASET_VIDEOS.message(len(pending))}", file=str(root))
    videos: list[Video] = []
    for name, read in pending:
        try:
            videos.append(read())
        except DataError as exc:
            if strict:
                raise
            warnings.warn(f"skipping {format} video {name}: {exc}", DataWarning, stacklevel=2)
    if not videos:
        raise DataError(f"all {len(pending)} videos were skipped as unreadable (see the warnings above)",
                        file=str(root))
    return videos
