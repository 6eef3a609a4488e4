"""Inference for TransT-style trackers (TransT's `track`), for vlt_tt, transt and tiny variants.

score = softmax foreground probability of every search position, times the official VLT-TT
scale/ratio penalty when `penalty_k` ≠ 0, blended with a flattened cosine window (w); the best
position's cxcywh box gives the centre, and the size moves towards it at rate `lr`
(× penalty × peak blended score when `penalty_k` ≠ 0), as SOTS `SiamTracker.track` does for
VLT_TT. With penalty_k 0 and lr 1 (LaSOT, TNL2K) the box is taken directly.

The tracker options `crop_input` / `search_region` (trackers/tt.py) select the official crop
(RGB, (crop/255 − ImageNet mean)/std, centre x + w/2, padding colour truncated to uint8, template
side rounded) and TransT's search-region formula; the defaults keep nasvl's training format.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from nasvl.data.crops import get_subwindow
from nasvl.tracking.inference import clamp_state, hanning_window, scale_ratio_penalty
from nasvl.tracking.siamese import SiameseTracker
from trackers.hparams import TTParams

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)  # RGB
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def official_crop(frame_bgr: np.ndarray, center: np.ndarray, side: float, out_size: int,
                  avg_bgr: np.ndarray) -> np.ndarray:
    """(3, out, out) float32 network input of the official VLT-TT tracker for a BGR frame.

    SOTS converts the frame to RGB, crops pysot-style around `center` taken as is (x + w/2, no
    half-pixel shift), pads with the frame's mean colour written into a uint8 canvas (so
    truncated), resizes with cv2, then feeds (crop/255 clamped to [0, 1] − mean)/std.
    """
    rgb = np.ascontiguousarray(frame_bgr[..., ::-1])
    avg = np.floor(np.asarray(avg_bgr, dtype=np.float64)[::-1])
    patch = get_subwindow(rgb, (float(center[0]), float(center[1])), side, out_size, avg)
    x = np.clip(patch.astype(np.float32) / 255.0, 0.0, 1.0)
    return ((x - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)


def context_search_side(w: float, h: float, context: float = 0.5) -> int:
    """TransT/SOTS search square: ceil(√((w + 3c(w+h))(h + 3c(w+h)))), c the context amount."""
    pad = 3 * context * (w + h)
    return math.ceil(math.sqrt((w + pad) * (h + pad)))


class TTTracker(SiameseTracker):
    params: TTParams

    @property
    def _official_crop(self) -> bool:
        return getattr(self.plugin.options, "crop_input", "bgr255") == "imagenet_rgb"

    def template_side(self) -> float:
        side = super().template_side()
        return float(round(side)) if self._official_crop else side  # SOTS: s_z = round(√(wc·hc))

    def search_side(self) -> float:
        if getattr(self.plugin.options, "search_region", "scaled") == "context":
            return float(context_search_side(float(self.size[0]), float(self.size[1]), self.context))
        return super().search_side()

    def crop(self, frame: np.ndarray, side: float, out_size: int) -> torch.Tensor:
        if not self._official_crop:
            return super().crop(frame, side, out_size)
        x = official_crop(frame, self.center, side, out_size, self.avg_chans)
        return torch.from_numpy(x)[None].to(self.device)

    def on_initialize(self, frame: np.ndarray) -> None:
        n = self.plugin.score_size()
        self.window = hanning_window(n).reshape(-1)
        # SOTS keeps the first frame's template scale for the penalty's reference size.
        self.scale_z = self.template_size / self.template_side()

    def track(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        p = self.params
        w = p.window_influence
        outputs, scale = self.search(frame)
        side = self.search_size / scale
        score = torch.softmax(outputs["cls"][0].float(), dim=-1)[:, 1].cpu().numpy()
        boxes = outputs["box"][0].float().cpu().numpy() * side  # (N, 4) cxcywh, frame pixels
        penalty = np.ones_like(score)
        if p.penalty_k != 0:
            # As SOTS: candidate sizes in frame pixels against the last size × the first template
            # scale (mixed units, kept: the benchmark penalty_k values were tuned with it).
            ref_w, ref_h = (float(v) for v in self.size * self.scale_z)
            penalty = scale_ratio_penalty(boxes[:, 2], boxes[:, 3], ref_w, ref_h, p.penalty_k)
            score = score * penalty
        pscore = score * (1 - w) + self.window * w
        best = int(np.argmax(pscore))
        cx, cy, bw, bh = (float(v) for v in boxes[best])
        center = self.center + np.array([cx, cy]) - side / 2
        lr = float(penalty[best] * pscore[best] * p.lr) if p.penalty_k != 0 else p.lr
        size = lr * np.array([bw, bh]) + (1 - lr) * self.size
        self.center, self.size = clamp_state(center, size, frame.shape, p.min_size)
        return self.box(), float(score[best])
