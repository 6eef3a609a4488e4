"""Checking every frame of a dataset: each bad file is reported with its path, not only the first.

`nasvl data check` decodes every frame (`decode=True`); previews and other quick checks read only
each frame's header and trailer (`probe_frame`), which catches empty, truncated, non-image and
oversized files at a fraction of the cost.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence

from nasvl.data.frames import probe_frame, read_frame
from nasvl.data.textio import DataWarning
from nasvl.data.video import Video
from nasvl.errors import DataError

_LISTED = 50  # bad frames printed one per line before the rest are only counted


def verify_frames(videos: Sequence[Video], *, decode: bool, strict: bool = True) -> list[Video]:
    """Return the videos whose frames are all readable.

    Strict: print every bad frame to stderr (path and rule), then raise a DataError naming the
    first. Lenient: skip each video with a bad frame, with one warning; an error if none is left.
    """
    check = read_frame if decode else probe_frame
    good: list[Video] = []
    bad: list[DataError] = []
    bad_videos = 0
    for video in videos:
        errors = []
        for path in video.frames:
            try:
                check(path)
            except DataError as exc:
                errors.append(exc)
                if not strict:
                    break  # one bad frame is enough to skip the video
        if not errors:
            good.append(video)
            continue
        bad_videos += 1
        if strict:
            bad.extend(errors)
        else:
            warnings.warn(f"skipping video {video.name}: {errors[0]}", DataWarning, stacklevel=2)
    if bad:
        for exc in bad[:_LISTED]:
            print(exc, file=sys.stderr)
        if len(bad) > _LISTED:
            print(f"... and {len(bad) - _LISTED} more bad frames", file=sys.stderr)
        raise DataError(f"{len(bad)} bad frame(s) in {bad_videos} video(s), listed above; first: {bad[0]}")
    if not good:
        raise DataError(f"every one of the {len(videos)} videos has a bad frame (see the warnings above)")
    return good
