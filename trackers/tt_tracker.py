"""Inference for TransT-style trackers (TransT's `track`), for vlt_tt, transt and tiny variants.

score = softmax foreground probability of every search position, blended with a
flattened cosine window (w); the best position's cxcywh box is taken directly.
"""

from __future__ import annotations

import numpy as np
import torch

from nasvl.tracking.inference import clamp_state, hanning_window
from nasvl.tracking.siamese import SiameseTracker
from nasvl.tracking.tracker import register_inference
from trackers.hparams import PARAMS_DIR, TTParams


@register_inference("vlt_tt", "vlt_tt_tiny", params_cls=TTParams, params_file=PARAMS_DIR / "vlt_tt.yaml")
class TTTracker(SiameseTracker):
    params: TTParams

    def on_initialize(self, frame: np.ndarray) -> None:
        n = self.plugin.score_size()  # type: ignore[attr-defined]
        self.window = hanning_window(n).reshape(-1)

    def track(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        w = self.params.window_influence
        outputs, scale = self.search(frame)
        score = torch.softmax(outputs["cls"][0].float(), dim=-1)[:, 1].cpu().numpy()
        boxes = outputs["box"][0].float().cpu().numpy() * self.search_size  # (N, 4) cxcywh crop px
        best = int(np.argmax(score * (1 - w) + self.window * w))
        cx, cy, bw, bh = (float(v) for v in boxes[best])
        center = self.center + (np.array([cx, cy]) - self.search_size / 2) / scale
        size = np.array([bw, bh]) / scale
        self.center, self.size = clamp_state(center, size, frame.shape, self.params.min_size)
        return self.box(), float(score[best])


@register_inference("transt", "transt_tiny", params_cls=TTParams, params_file=PARAMS_DIR / "transt.yaml")
class TransTTracker(TTTracker):
    """The vision-only baseline decodes exactly like VLT-TT; only its parameter file differs."""
