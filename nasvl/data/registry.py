"""`load_dataset`: one entry point over every reader, with strict and lenient modes.

Strict (the default, for evaluation) raises the first `DataError`, which names the
file and line. Lenient (for training, where one broken video among thousands should
not stop a run) skips each bad video with exactly one warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

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


def load_dataset(root: str | Path, format: str, split: str | None = None, strict: bool = True) -> list[Video]:
    """Read every video of a benchmark at `root` in `format` (see `FORMATS`)."""
    if format not in _READERS:
        raise DataError(f"unknown dataset format {format!r} {known(_READERS)}")
    root = Path(root)
    if not root.is_dir():
        raise DataError("dataset folder not found", file=str(root))
    videos: list[Video] = []
    for name, read in _READERS[format](root, split):
        try:
            videos.append(read())
        except DataError as exc:
            if strict:
                raise
            warnings.warn(f"skipping {format} video {name}: {exc}", DataWarning, stacklevel=2)
    return videos
