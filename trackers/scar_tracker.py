"""Inference for SiamCAR-head trackers (pysot SiamCAR's `track`), for vlt_scar, siamcar and tiny variants.

score = cls × normalised centerness × exp(-(r·s − 1)·k), blended with a cosine window (w);
the blended map is upsampled bicubically to stride-1 resolution to find the peak, whose
ltrb gives the box; the size moves towards it at rate lr × penalty × cls (SiamCAR).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from nasvl.tracking.inference import clamp_state, hanning_window, scale_ratio_penalty
from nasvl.tracking.siamese import SiameseTracker
from trackers.hparams import ScarParams


def _upsample(x: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(x, (size, size), interpolation=cv2.INTER_CUBIC)


class ScarTracker(SiameseTracker):
    params: ScarParams

    def on_initialize(self, frame: np.ndarray) -> None:
        self.score_size = self.plugin.score_size()
        self.stride = self.plugin.stride
        self.window = hanning_window(self.score_size)

    def track(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        p = self.params
        outputs, scale = self.search(frame)
        cls = torch.softmax(outputs["cls"][0].float(), dim=0)[1].cpu().numpy()
        # SiamCAR min-max normalises the centerness map; we do it after the sigmoid, which keeps the order.
        cen = torch.sigmoid(outputs["cen"][0, 0].float()).cpu().numpy()
        cen = (cen - cen.min()) / max(float(np.ptp(cen)), 1e-12)
        ltrb = outputs["ltrb"][0].float().cpu().numpy()  # (4, n, n) search-crop pixels
        prev_w, prev_h = self.size * scale
        penalty = scale_ratio_penalty(ltrb[0] + ltrb[2], ltrb[1] + ltrb[3], prev_w, prev_h, p.penalty_k)
        p_score = penalty * cls * cen
        hp_score = p_score * (1 - p.window_influence) + self.window * p.window_influence
        up = (self.score_size - 1) * self.stride + 1
        hp_up = _upsample(hp_score.astype(np.float32), up)
        cls_up = _upsample(cls.astype(np.float32), up)
        ltrb_up = _upsample(np.ascontiguousarray(ltrb.transpose(1, 2, 0)), up)
        r, c = np.unravel_index(int(np.argmax(hp_up)), hp_up.shape)
        left, top, right, bottom = (float(v) for v in ltrb_up[r, c])
        # Upsampled index u sits (u − (up−1)/2) crop pixels from the crop centre; ltrb refines the centre.
        dx = c - (up - 1) / 2 + (right - left) / 2
        dy = r - (up - 1) / 2 + (bottom - top) / 2
        w_new, h_new = (left + right) / scale, (top + bottom) / scale
        pen = float(scale_ratio_penalty(np.array(left + right), np.array(top + bottom), prev_w, prev_h, p.penalty_k))
        score = float(cls_up[r, c])
        lr = float(np.clip(pen * score * p.lr, 0.0, 1.0))
        center = self.center + np.array([dx, dy]) / scale
        size = np.array([lr * w_new + (1 - lr) * self.size[0], lr * h_new + (1 - lr) * self.size[1]])
        self.center, self.size = clamp_state(center, size, frame.shape, p.min_size)
        return self.box(), score
