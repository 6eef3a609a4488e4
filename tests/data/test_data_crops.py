"""SiamFC/pysot crop geometry: sizes, padding colour, exact box mapping."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from nasvl.data.crops import context_size, crop_affine, get_subwindow, map_box, mean_color, search_crop_size


def test_context_size_is_siamfc_formula() -> None:
    w, h = 40.0, 20.0
    p = 0.5 * (w + h)
    assert context_size(w, h) == pytest.approx(math.sqrt((w + p) * (h + p)))
    assert search_crop_size(w, h) == pytest.approx(context_size(w, h) * 255 / 127)
    assert search_crop_size(w, h, 63, 127) == pytest.approx(context_size(w, h) * 127 / 63)


def _ramp() -> np.ndarray:
    img = np.zeros((60, 80, 3), np.uint8)
    img[..., 0] = np.arange(80, dtype=np.uint8)[None, :]
    img[..., 1] = np.arange(60, dtype=np.uint8)[:, None]
    img[..., 2] = 200
    return img


def test_subwindow_inside_is_a_plain_slice() -> None:
    img = _ramp()
    patch = get_subwindow(img, (40, 30), 21, 21, mean_color(img))
    # pysot: xmin = floor(cx - (sz + 1)/2 + 0.5) = floor(40 - 11 + 0.5) = 29
    np.testing.assert_array_equal(patch, img[19:40, 29:50])


def test_subwindow_pads_with_mean_colour_everywhere() -> None:
    img = _ramp()
    avg = mean_color(img)
    patch = get_subwindow(img, (0, 0), 31, 31, avg)
    assert patch.shape == (31, 31, 3)
    np.testing.assert_array_equal(patch[0, 0], np.round(avg).astype(np.uint8))  # the corner too
    np.testing.assert_array_equal(patch[16:, 16:], img[:15, :15])  # xmin = floor(0 - 16 + 0.5) = -16
    outside = get_subwindow(img, (-500, -500), 10, 7, avg)
    assert outside.shape == (7, 7, 3) and (outside == np.round(avg).astype(np.uint8)).all()


def test_subwindow_resizes_with_cv2() -> None:
    img = _ramp()
    patch = get_subwindow(img, (40, 30), 40, 127, mean_color(img))
    assert patch.shape == (127, 127, 3) and patch.dtype == np.uint8
    np.testing.assert_array_equal(patch, cv2.resize(img[10:50, 20:60], (127, 127)))


def test_affine_crop_maps_boxes_exactly() -> None:
    img = np.zeros((120, 160, 3), np.uint8)
    x, y, w, h = 50, 40, 30, 20
    img[y:y + h, x:x + w] = 255
    centre = (x + w / 2 + 3.0, y + h / 2 - 2.0)
    crop, matrix = crop_affine(img, centre, 80.0, 127, (0, 0, 0))
    x0, y0, x1, y1 = map_box((x, y, w, h), matrix)
    ys, xs = np.nonzero(crop[..., 0] > 127)
    assert xs.min() == pytest.approx(x0, abs=1.0) and xs.max() + 1 == pytest.approx(x1, abs=1.0)
    assert ys.min() == pytest.approx(y0, abs=1.0) and ys.max() + 1 == pytest.approx(y1, abs=1.0)
    # the target size in the crop follows the crop scale
    assert (x1 - x0) == pytest.approx(w * 127 / 80.0)
