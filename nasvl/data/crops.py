"""SiamFC/pysot crop geometry, in one place for training pairs and tracker inference.

A target of size (w, h) is cropped with context p = context·(w + h) around it into a
square of side s_z = sqrt((w + p)(h + p)) that is resized to the template size (127);
the search region is the same square scaled by search_size / template_size (255/127).
Pixels outside the image take the mean colour (`avg_chans`), as in SiamFC and pysot.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

CONTEXT = 0.5


def context_size(w: float, h: float, context: float = CONTEXT) -> float:
    """Side of the square template crop around a w×h target (s_z in SiamFC/pysot)."""
    p = context * (w + h)
    return float(np.sqrt((w + p) * (h + p)))


def search_crop_size(w: float, h: float, template_size: int = 127, search_size: int = 255,
                     context: float = CONTEXT) -> float:
    """Side of the search crop (s_x): the template crop scaled like the output sizes."""
    return context_size(w, h, context) * search_size / template_size


def mean_color(image: np.ndarray) -> np.ndarray:
    """Per-channel mean, the padding colour (avg_chans); cv2.mean is ~20× faster than numpy here."""
    return np.asarray(cv2.mean(image)[: image.shape[-1]], dtype=np.float64)


def get_subwindow(image: np.ndarray, center_xy: Sequence[float], original_size: float, out_size: int,
                  avg_chans: Sequence[float] | np.ndarray) -> np.ndarray:
    """pysot's inference crop: an `original_size` square centred at `center_xy`, resized to `out_size`.

    Returns HWC uint8 (BGR like the input). The square is rounded to whole pixels exactly
    as pysot does (xmin = floor(cx - (sz + 1)/2 + 0.5)) so scores and box decoding of a
    pysot-trained head line up. Unlike pysot, the padded corners get the mean colour too
    (pysot leaves them 0 by accident of its strip-wise fill).
    """
    sz = int(round(original_size))
    if sz < 1:
        sz = 1
    c = (sz + 1) / 2
    xmin = int(np.floor(center_xy[0] - c + 0.5))
    ymin = int(np.floor(center_xy[1] - c + 0.5))
    xmax, ymax = xmin + sz - 1, ymin + sz - 1
    rows, cols = image.shape[:2]
    left, top = max(0, -xmin), max(0, -ymin)
    right, bottom = max(0, xmax - cols + 1), max(0, ymax - rows + 1)
    x0, y0 = min(max(xmin, 0), cols), min(max(ymin, 0), rows)
    x1, y1 = max(min(xmax + 1, cols), x0), max(min(ymax + 1, rows), y0)
    patch = image[y0:y1, x0:x1]
    if left or top or right or bottom:
        value = [float(v) for v in np.asarray(avg_chans).ravel()[: image.shape[2]]]
        if patch.size == 0:  # the square lies wholly outside the image
            patch = np.empty((sz, sz, image.shape[2]), dtype=image.dtype)
            patch[:] = np.asarray(value, dtype=np.float64).round().astype(image.dtype)
        else:
            patch = cv2.copyMakeBorder(patch, top, bottom, left, right, cv2.BORDER_CONSTANT, value=value)
    if sz != out_size:
        patch = cv2.resize(patch, (out_size, out_size))
    return np.ascontiguousarray(patch)


def crop_affine(image: np.ndarray, center_xy: Sequence[float], crop_size: float, out_size: int,
                avg_chans: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training crop with sub-pixel geometry (pysot's `_crop_roi` uses warpAffine too).

    Maps the square [cx - s/2, cx + s/2]² onto [0, out_size]²; returns the crop and the
    2×3 matrix so boxes can be mapped with exactly the same transform.
    """
    scale = out_size / crop_size
    matrix = np.array([[scale, 0.0, out_size / 2 - scale * center_xy[0]],
                       [0.0, scale, out_size / 2 - scale * center_xy[1]]])
    value = tuple(float(v) for v in np.asarray(avg_chans).ravel()[:3])
    crop = cv2.warpAffine(image, matrix, (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=value)
    return crop, matrix


def map_box(box_xywh: Sequence[float], matrix: np.ndarray) -> np.ndarray:
    """An xywh image box through a scale+translate matrix, as xyxy in crop pixels (float32)."""
    x, y, w, h = (float(v) for v in box_xywh)
    s, tx, ty = matrix[0, 0], matrix[0, 2], matrix[1, 2]
    return np.array([x * s + tx, y * s + ty, (x + w) * s + tx, (y + h) * s + ty], dtype=np.float32)
