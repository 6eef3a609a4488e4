"""Numeric helpers shared by inference trackers: windows, SiamRPN/SiamCAR penalties, box clamps, crops.

Coordinates are continuous pixels (a box x,y,w,h covers [x, x+w)); its centre is x + w/2,
as in the training-pair crops (`nasvl.data.crops.crop_affine`). `crop_tensor` converts to
the pixel-index centre that pysot's `get_subwindow` expects.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from nasvl.data.crops import get_subwindow


def hanning_window(n: int) -> np.ndarray:
    """(n, n) outer product of Hanning windows: the cosine window that favours small motion."""
    h = np.hanning(n)
    return np.outer(h, h).astype(np.float32)


def change(r: np.ndarray | float) -> np.ndarray | float:
    """max(r, 1/r): how far a ratio is from 1, symmetric in both directions."""
    return np.maximum(r, 1.0 / r)


def padded_size(w: np.ndarray | float, h: np.ndarray | float) -> np.ndarray | float:
    """SiamRPN's scale measure sqrt((w + p)(h + p)) with p = (w + h)/2."""
    pad = (w + h) * 0.5
    return np.sqrt((w + pad) * (h + pad))


def scale_ratio_penalty(w: np.ndarray, h: np.ndarray, prev_w: float, prev_h: float, k: float) -> np.ndarray:
    """exp(-(r·s − 1)·k): penalise candidate boxes (w,h) whose scale s or aspect r jumps from the last box.

    All sizes in the same units (search-crop pixels).
    """
    w = np.maximum(w, 1e-6)
    h = np.maximum(h, 1e-6)
    s = change(padded_size(w, h) / padded_size(prev_w, prev_h))
    r = change((prev_w / prev_h) / (w / h))
    return np.exp(-(r * s - 1) * k)


def clamp_state(center: np.ndarray, size: np.ndarray, image_shape: Sequence[int],
                min_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Centre inside the image; size at least `min_size` and at most the image (pysot's bbox_clip)."""
    rows, cols = image_shape[0], image_shape[1]
    cx = float(np.clip(center[0], 0, cols))
    cy = float(np.clip(center[1], 0, rows))
    w = float(np.clip(size[0], min_size, max(cols, min_size)))
    h = float(np.clip(size[1], min_size, max(rows, min_size)))
    return np.array([cx, cy]), np.array([w, h])


def crop_tensor(image: np.ndarray, center: np.ndarray, side: float, out_size: int, avg_chans: np.ndarray,
                device: torch.device) -> torch.Tensor:
    """(1, 3, out, out) float32 BGR 0..255 (pysot's input format) of a square crop around `center`."""
    patch = get_subwindow(image, (float(center[0]) - 0.5, float(center[1]) - 0.5), side, out_size, avg_chans)
    return torch.from_numpy(patch.transpose(2, 0, 1).astype(np.float32))[None].to(device)
