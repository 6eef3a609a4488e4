"""Per-video challenge attributes derived from annotations alone.

Benchmarks ship attribute tables in their toolkits, not in the data folders.
Deriving the annotation-based ones here (following LaSOT's definitions) gives
every reader, the synthetic benchmark included, the same per-attribute
breakdown without a side file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# LaSOT's definitions: SV/ARC when the ratio to the first box leaves [0.5, 2];
# FM when the centre moves more than the box size between frames; LR when some
# box has fewer than 1000 pixels.
_RATIO_RANGE = (0.5, 2.0)
_LOW_RES_AREA = 1000.0


def derive_attributes(boxes: np.ndarray, absent: np.ndarray, *,
                      full_occlusion: np.ndarray | None = None,
                      out_of_view: np.ndarray | None = None) -> dict[str, Any]:
    """Boolean challenge attributes of one video (keys are stable, lower_snake_case)."""
    b = np.asarray(boxes, dtype=np.float64)
    ok = np.isfinite(b).all(axis=1) & (b[:, 2] > 0) & (b[:, 3] > 0) & ~absent
    attrs: dict[str, Any] = {
        "full_occlusion": bool(full_occlusion.any()) if full_occlusion is not None else bool(absent.any()),
        "out_of_view": bool(out_of_view.any()) if out_of_view is not None else False,
    }
    if ok.sum() < 2:
        attrs.update(scale_variation=False, aspect_ratio_change=False, fast_motion=False, low_resolution=False)
        return attrs
    v = b[ok]
    area = v[:, 2] * v[:, 3]
    aspect = v[:, 2] / v[:, 3]
    lo, hi = _RATIO_RANGE
    scale_ratio = np.sqrt(area / area[0])
    aspect_ratio = aspect / aspect[0]
    centres = v[:, :2] + v[:, 2:] / 2
    step = np.linalg.norm(np.diff(centres, axis=0), axis=1)
    size = np.sqrt(area[:-1])
    attrs.update(
        scale_variation=bool(((scale_ratio < lo) | (scale_ratio > hi)).any()),
        aspect_ratio_change=bool(((aspect_ratio < lo) | (aspect_ratio > hi)).any()),
        fast_motion=bool((step > size).any()),
        low_resolution=bool((area < _LOW_RES_AREA).any()),
    )
    return attrs
