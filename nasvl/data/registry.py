"""`load_dataset`: one entry point over every reader, with strict and lenient modes.

Strict (the default, for evaluation) raises the first `DataError`, which names the
file and line. Lenient (for training, where one broken video among thousands should
not stop a run) skips each bad video with exactly one warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nasvl.config import Node
from nasvl.config.limits import DATASET_VIDEOS
from nasvl.data.textio import DataWarning
from nasvl.data.video import Video
from nasvl.errors import DataError, known
from nasvl.registry import Registry

Discover = Callable[[Path, "str | None"], "list[tuple[str, Callable[[], Video]]]"]


@dataclass(frozen=True)
class DatasetFormat:
    """A benchmark layout: `discover(root, split)` lists (video name, reader) pairs without reading
    frames; `layout` tells a user what the folder should hold when nothing is found."""

    name: str
    discover: Discover
    layout: str


# The formats, built-in (`nasvl.data.readers`) and from plugins (entry-point group `nasvl.formats`).
FORMAT_REGISTRY: Registry[DatasetFormat] = Registry("dataset format", entry_point_group="nasvl.formats")


def register_format(name: str, *, layout: str) -> Callable[[Discover], Discover]:
    """Decorator for a `discover(root, split)` function: registers the format `name`."""

    def decorator(discover: Discover) -> Discover:
        FORMAT_REGISTRY.register(name)(DatasetFormat(name, discover, layout))
        return discover

    return decorator


def format_names() -> list[str]:
    """Every registered dataset format, built-in and plugin."""
    import nasvl.data.readers  # noqa: F401  (the built-in readers register when imported)

    return FORMAT_REGISTRY.names()


def check_format(parent: Node, key: str = "format") -> None:
    """`parent[key]`, when given, names a registered format (a located error otherwise); an absent
    key takes its dataclass default, which is a built-in format."""
    if key not in parent.mapping():
        return
    node = parent.child(key)
    if node.as_str() not in format_names():
        raise node.error(f"unknown format {node.as_str()!r} {known(format_names())}")


def load_dataset(root: str | Path, format: str, split: str | None = None, strict: bool = True) -> list[Video]:
    """Read every video of a benchmark at `root` in a registered `format` (`format_names()`)."""
    if format not in format_names():
        raise DataError(f"unknown dataset format {format!r} {known(format_names())}")
    reader = FORMAT_REGISTRY.get(format)
    root = Path(root)
    if not root.is_dir():
        raise DataError("dataset folder not found", file=str(root))
    pending = reader.discover(root, split)
    if not pending:
        where = f"{root}/{split}" if split is not None and (root / split).is_dir() else str(root)
        raise DataError(f"no videos found: not a {format} dataset, or an empty one ({reader.layout})",
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
