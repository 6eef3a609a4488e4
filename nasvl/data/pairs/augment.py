"""Training augmentations of a crop: the geometric ones act on the crop window (so boxes
map exactly), the photometric ones on the pixels. Defaults follow pysot's SiamCAR config.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Per-branch augmentation; probabilities in [0, 1].

    `shift` is the largest centre offset as a fraction of the crop, `scale` the largest
    relative change of the crop side (pysot's 4 px / 127 and 64 px / 255 become 0.03 / 0.25).
    """

    shift: float = 0.0
    scale: float = 0.0
    color: float = 0.0
    blur: float = 0.0
    flip: float = 0.0
    gray: float = 0.0


TEMPLATE_AUG = AugmentConfig(shift=0.03, scale=0.05, color=1.0)
SEARCH_AUG = AugmentConfig(shift=0.25, scale=0.18, color=1.0, blur=0.2)
NO_AUG = AugmentConfig()


def jitter_window(rng: np.random.Generator, center: np.ndarray, size: float,
                  aug: AugmentConfig) -> tuple[np.ndarray, float]:
    """Randomly rescale and shift a square crop window (centre, side) in image pixels."""
    if aug.scale > 0:
        size = size * float(np.exp(rng.uniform(np.log1p(-aug.scale), np.log1p(aug.scale))))
    if aug.shift > 0:
        center = center + rng.uniform(-aug.shift, aug.shift, 2) * size
    return center, size


def photometric(rng: np.random.Generator, crop: np.ndarray, box: np.ndarray,
                aug: AugmentConfig) -> tuple[np.ndarray, np.ndarray]:
    """Colour, gray, blur and horizontal flip; returns the new crop and xyxy box."""
    if aug.color > 0 and rng.random() < aug.color:
        # Per-channel gain plus a brightness offset: the cheap cousin of pysot's PCA jitter.
        # cv2.transform applies the 3×4 affine colour map with uint8 saturation in one pass.
        gains = rng.uniform(0.85, 1.15, 3)
        matrix = np.hstack([np.diag(gains), np.full((3, 1), rng.uniform(-20, 20))])
        crop = cv2.transform(crop, matrix)
    if aug.gray > 0 and rng.random() < aug.gray:
        crop = cv2.cvtColor(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    if aug.blur > 0 and rng.random() < aug.blur:
        k = int(rng.choice([3, 5, 7]))
        crop = cv2.GaussianBlur(crop, (k, k), 0)
    if aug.flip > 0 and rng.random() < aug.flip:
        crop = cv2.flip(crop, 1)
        width = crop.shape[1]
        box = np.array([width - box[2], box[1], width - box[0], box[3]], dtype=np.float32)
    return crop, box
