"""The one in-memory type every benchmark reader yields: a `Video`.

Frames are kept as paths and decoded on demand, so listing a 1,400-video
benchmark costs directory reads, not gigabytes of pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasvl.data.frames import read_frame


@dataclass(frozen=True, eq=False)
class Video:
    """One annotated sequence (an image dataset contributes one-frame videos).

    `boxes` are ground truth in xywh (0-based pixel coordinates, float64). For
    frames with `absent[i]` the box carries no information (benchmarks write
    0,0,0,0 there); NaN only appears where a benchmark withholds ground truth
    (GOT-10k test split) or for vision-only folders without annotations.
    """

    name: str
    frames: list[Path]
    boxes: np.ndarray
    absent: np.ndarray
    description: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    dataset: str = ""

    def __post_init__(self) -> None:
        n = len(self.frames)
        if self.boxes.shape != (n, 4):
            raise ValueError(f"{self.name}: boxes shape {self.boxes.shape} != ({n}, 4)")
        if self.absent.shape != (n,):
            raise ValueError(f"{self.name}: absent shape {self.absent.shape} != ({n},)")

    def __len__(self) -> int:
        return len(self.frames)

    def frame(self, i: int) -> np.ndarray:
        """Frame `i` as BGR uint8 (what cv2 and the pysot-style crops expect)."""
        return read_frame(self.frames[i])

    @property
    def visible(self) -> np.ndarray:
        """Frames whose box can be used for training: present, finite, positive size."""
        b = self.boxes
        ok = np.isfinite(b).all(axis=1) & (b[:, 2] > 0) & (b[:, 3] > 0)
        return ok & ~self.absent

    def __repr__(self) -> str:
        desc = f", description={self.description!r}" if self.description else ""
        return f"Video({self.dataset}:{self.name}, {len(self)} frames{desc})"
