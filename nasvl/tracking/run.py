"""Running a tracker over videos (one-pass evaluation): the loop shared by evaluation and search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from nasvl.data.video import Video
from nasvl.errors import NasvlError
from nasvl.tracking.tracker import Tracker


def track_video(tracker: Tracker, frames: Sequence[np.ndarray], init_box: Sequence[float],
                text: str | None = None, video: str = "video") -> np.ndarray:
    """OPE: initialise on frame 0 with the ground truth (which is also frame 0's prediction), track the rest.

    A non-finite box (a network whose weights diverged) stops the video with an error naming it:
    the next frame's crop would otherwise fail deep inside OpenCV.
    """
    boxes = np.zeros((len(frames), 4), dtype=np.float64)
    tracker.initialize(frames[0], init_box, text)
    boxes[0] = np.asarray(init_box, dtype=np.float64)
    for i in range(1, len(frames)):
        box, _ = tracker.track(frames[i])
        if not np.isfinite(box).all():
            raise NasvlError(f"{video}: frame {i}: the tracker predicted a non-finite box {np.asarray(box).tolist()} "
                             "(diverged weights, or a NaN in the network's output)")
        boxes[i] = box
    return boxes


def track_videos(tracker: Tracker, videos: Sequence[Video], frames: Mapping[str, Sequence[np.ndarray]],
                 texts: Mapping[str, str | None] | None = None) -> dict[str, np.ndarray]:
    """OPE over a set of videos with decoded `frames` ({video: frames}); `texts` gives each video's
    description (None or a missing name: no description). Returns {video: N×4 boxes}."""
    return {v.name: track_video(tracker, frames[v.name], v.boxes[0], (texts or {}).get(v.name), v.name)
            for v in videos}


def first_frames(video: Video, limit: int | None) -> Video:
    """The video cut to its first `limit` frames (None: whole video)."""
    if limit is None or limit >= len(video):
        return video
    import dataclasses

    return dataclasses.replace(video, frames=video.frames[:limit], boxes=video.boxes[:limit],
                               absent=video.absent[:limit])
