"""The official VLT-TT inference (SOTS 3a6af0d sot_tracker.py, tracking/test_sot.py) against hand-written references.

The references below restate the official formulas from the source: the frame is converted
BGR→RGB; the crop square of side sz around pos (x + w/2) starts at floor(pos − (sz+1)/2 + 0.5),
the image is pasted into a uint8 canvas padded with the frame's mean colour, the square is cut
out and cv2-resized; the input is (crop/255 clamped − ImageNet mean)/std. s_z = round(√(wc·hc)),
s_x = ceil(√((w+1.5(w+h))(h+1.5(w+h)))); the penalty is exp(−(r·s − 1)k) on candidate sizes in
frame pixels against the last size × the first frame's template scale.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np
import pytest
import torch

from nasvl.tracking.tracker import build_tracker, load_params
from tests.trackers.conftest import sample_arch, tiny_supernet
from trackers.tt_tracker import context_search_side, official_crop


def _reference_crop(bgr: np.ndarray, pos: tuple[float, float], sz: int, model_sz: int) -> np.ndarray:
    im = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    avg = np.mean(im, axis=(0, 1))
    c = (sz + 1) / 2
    xmin, ymin = np.floor(pos[0] - c + 0.5), np.floor(pos[1] - c + 0.5)
    xmax, ymax = xmin + sz - 1, ymin + sz - 1
    left, top = int(max(0.0, -xmin)), int(max(0.0, -ymin))
    right, bottom = int(max(0.0, xmax - im.shape[1] + 1)), int(max(0.0, ymax - im.shape[0] + 1))
    r, k = im.shape[0], im.shape[1]
    canvas = np.zeros((r + top + bottom, k + left + right, 3), np.uint8)
    canvas[top:top + r, left:left + k] = im
    canvas[:top, left:left + k] = avg
    canvas[r + top:, left:left + k] = avg
    canvas[:, :left] = avg
    canvas[:, k + left:] = avg
    y0, x0 = int(ymin + top), int(xmin + left)
    patch = canvas[y0:y0 + sz, x0:x0 + sz]
    if sz != model_sz:
        patch = cv2.resize(patch, (model_sz, model_sz))
    x = np.clip(patch.astype(np.float32) / 255.0, 0, 1)
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    return ((x - mean) / std).astype(np.float32).transpose(2, 0, 1)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    img[:, :, 0] = np.linspace(0, 255, 160, dtype=np.uint8)[None]  # channel order matters
    return img


@pytest.mark.parametrize("pos, sz, out", [
    ((80.0, 60.0), 64, 128),     # inside, downscaled ×2
    ((10.5, 100.25), 90, 128),   # past the left and bottom edges: padded
    ((150.0, 5.0), 181, 256),    # past the right and top edges, upscaled
    ((80.0, 60.0), 128, 128),    # no resize
], ids=["inside", "left_bottom", "right_top", "same_size"])
def test_official_crop_matches_the_sots_pipeline(frame: np.ndarray, pos, sz: int, out: int) -> None:
    ours = official_crop(frame, np.array(pos), float(sz), out, np.mean(frame, axis=(0, 1)))
    ref = _reference_crop(frame, pos, sz, out)
    assert ours.shape == ref.shape == (3, out, out)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("w, h", [(40.0, 40.0), (12.5, 80.0), (200.0, 31.0), (3.0, 3.0)])
def test_context_search_side(w: float, h: float) -> None:
    assert context_search_side(w, h) == math.ceil(math.sqrt((w + 1.5 * (w + h)) * (h + 1.5 * (w + h))))
    if w == h:  # a square target: the context formula is twice the template side, as nasvl's default
        assert context_search_side(w, h) == math.ceil(2 * math.sqrt((w + (w + h) / 2) * (h + (w + h) / 2)))


def _tracker(frame: np.ndarray, official: bool, **params):  # noqa: ANN202
    net, space = tiny_supernet("tiny_tt.yaml")
    if official:
        net.plugin.options = dataclasses.replace(net.plugin.options, crop_input="imagenet_rgb",
                                                 search_region="context")
    tracker = build_tracker((net, sample_arch(space)), benchmark="lasot", overrides=params or None)
    tracker.initialize(frame, (50.0, 40.0, 30.0, 20.0))
    return tracker


def test_official_geometry_and_input_reach_the_network(frame: np.ndarray, monkeypatch) -> None:
    tracker = _tracker(frame, official=True)
    assert tracker.template_side() == round(math.sqrt((30 + 25) * (20 + 25)))
    assert tracker.search_side() == context_search_side(30.0, 20.0)
    seen = {}
    monkeypatch.setattr(tracker.net, "search", lambda x, cache, arch: seen.setdefault("x", x) and {})
    try:
        tracker.search(frame)
    except Exception:  # noqa: BLE001 - only the input matters here
        pass
    ref = _reference_crop(frame, (65.0, 50.0), context_search_side(30.0, 20.0), tracker.search_size)
    np.testing.assert_allclose(seen["x"][0].numpy(), ref, atol=1e-5)
    default = _tracker(frame, official=False)
    assert default.search_side() == pytest.approx(default.template_side() * 127 / 63)


def test_official_penalty_and_size_rate(frame: np.ndarray, monkeypatch) -> None:
    params = dataclasses.asdict(load_params("vlt_tt", "otb99lang"))
    assert (params["penalty_k"], params["lr"], params["window_influence"]) == (0.147, 0.699, 0.49)
    tracker = _tracker(frame, official=True, penalty_k=0.147, lr=0.699, window_influence=0.49)
    n = tracker.plugin.score_size()
    rng = np.random.default_rng(0)
    logits = torch.from_numpy(rng.standard_normal((1, n * n, 2)).astype(np.float32))
    boxes = torch.from_numpy(rng.uniform(0.2, 0.8, (1, n * n, 4)).astype(np.float32))
    side = tracker.search_side()
    monkeypatch.setattr(tracker, "search", lambda f: ({"cls": logits, "box": boxes}, tracker.search_size / side))
    pos, sz, scale_z = tracker.center.copy(), tracker.size.copy(), tracker.template_size / tracker.template_side()

    # SOTS SiamTracker.track, VLT_TT branch, restated.
    def change(r):  # noqa: ANN001, ANN202
        return np.maximum(r, 1.0 / r)

    def padded(w, h):  # noqa: ANN001, ANN202
        p = (w + h) * 0.5
        return np.sqrt((w + p) * (h + p))

    score = torch.softmax(logits[0], dim=1)[:, 1].numpy()
    pred = boxes[0].numpy().T * side
    pen = np.exp(-(change((sz[0] / sz[1]) / (pred[2] / pred[3]))
                   * change(padded(pred[2], pred[3]) / padded(sz[0] * scale_z, sz[1] * scale_z)) - 1) * 0.147)
    pscore = score * pen * (1 - 0.49) + np.outer(np.hanning(n), np.hanning(n)).ravel() * 0.49
    best = int(np.argmax(pscore))
    lr = pen[best] * pscore.max() * 0.699
    cx, cy = pred[0, best] + pos[0] - side / 2, pred[1, best] + pos[1] - side / 2
    want = np.array([cx, cy, lr * pred[2, best] + (1 - lr) * sz[0], lr * pred[3, best] + (1 - lr) * sz[1]])
    box, _ = tracker.track(frame)
    np.testing.assert_allclose(box, [want[0] - want[2] / 2, want[1] - want[3] / 2, want[2], want[3]], rtol=1e-5)


def test_lasot_params_take_the_box_directly(frame: np.ndarray, monkeypatch) -> None:
    tracker = _tracker(frame, official=False)
    assert (tracker.params.penalty_k, tracker.params.lr) == (0.0, 1.0)
    n = tracker.plugin.score_size()
    logits = torch.zeros(1, n * n, 2)
    logits[0, n * n // 2, 1] = 10.0
    boxes = torch.full((1, n * n, 4), 0.5)
    boxes[0, :, 2:] = torch.tensor([0.3, 0.1])
    side = tracker.search_side()
    monkeypatch.setattr(tracker, "search", lambda f: ({"cls": logits, "box": boxes}, tracker.search_size / side))
    box, _ = tracker.track(frame)
    np.testing.assert_allclose(box[2:], [0.3 * side, 0.1 * side], rtol=1e-5)
