"""The OPE loop shared by evaluation and search."""

from __future__ import annotations

import numpy as np
import pytest

from nasvl.errors import NasvlError
from nasvl.tracking.run import track_video
from nasvl.tracking.tracker import Tracker


class _Diverging(Tracker):
    """Tracks by standing still, then predicts NaN from frame `nan_at` on (as a diverged network does)."""

    def __init__(self, nan_at: int) -> None:
        self.nan_at, self.frame = nan_at, 0

    def initialize(self, frame, box_xywh, text=None) -> None:
        self.box = np.asarray(box_xywh, dtype=np.float64)

    def track(self, frame):
        self.frame += 1
        return (np.full(4, np.nan) if self.frame >= self.nan_at else self.box), 1.0


def test_non_finite_box_names_the_video_and_frame() -> None:
    frames = [np.zeros((32, 32, 3), np.uint8)] * 5
    with pytest.raises(NasvlError, match=r"clip-7: frame 3: the tracker predicted a non-finite box"):
        track_video(_Diverging(nan_at=3), frames, (4, 4, 8, 8), video="clip-7")
    boxes = track_video(_Diverging(nan_at=99), frames, (4, 4, 8, 8), video="clip-7")
    assert np.array_equal(boxes, np.tile([4, 4, 8, 8], (5, 1)))
