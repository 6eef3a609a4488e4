"""SiamCAR's matching module and CAR head (Guo et al., CVPR 2020), as nn.Modules.

neck (1×1 conv + BN per stage, shared by both branches, as pysot's AdjustAllLayer)
→ depthwise cross-correlation per stage → concat → 1×1 down to `hidden`
→ a cls tower (feeding cls and centerness, as in SiamCAR) and a box tower (feeding ltrb),
each `tower_depth` × (3×3 conv, GroupNorm, ReLU).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def xcorr_depthwise(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Per-sample, per-channel correlation of `x` (B,C,H,W) with `kernel` (B,C,h,w) (pysot)."""
    b, c, h, w = x.shape
    out = F.conv2d(x.reshape(1, b * c, h, w), kernel.reshape(b * c, 1, *kernel.shape[2:]), groups=b * c)
    return out.reshape(b, c, out.shape[2], out.shape[3])


def center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """Centre size×size of a template map (pysot crops 7 of 15; we crop 8 of 16 for a 25×25 score map)."""
    if size <= 0 or size >= x.shape[-1]:
        return x
    top = (x.shape[-2] - size) // 2
    left = (x.shape[-1] - size) // 2
    return x[..., top:top + size, left:left + size]


def _tower(width: int, depth: int, groups: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Conv2d(width, width, 3, 1, 1), nn.GroupNorm(groups, width), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


_CUBIC_A = -0.75  # torch's (and OpenCV's) bicubic convolution constant


def _cubic(t: float) -> float:
    """Keys' cubic convolution kernel at distance |t| (the weights torch's bicubic resize uses)."""
    t, a = abs(t), _CUBIC_A
    if t <= 1:
        return ((a + 2) * t - (a + 3)) * t * t + 1
    if t < 2:
        return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return 0.0


@functools.lru_cache(maxsize=32)
def _bicubic_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) matrix of torch's bicubic resize along one axis (align_corners=False):
    source position (i + ½)·n_in/n_out − ½, four taps, border indices clamped. Plain numbers, not
    torch ops, so an ONNX trace sees a constant, not the computation."""
    m = np.zeros((n_out, n_in), dtype=np.float64)
    scale = n_in / n_out
    for i in range(n_out):
        src = (i + 0.5) * scale - 0.5
        base = math.floor(src)
        for k in range(-1, 3):
            m[i, min(max(base + k, 0), n_in - 1)] += _cubic(src - (base + k))
    return m


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Bicubic resize of a stage map to size×size (the official VLT head: search 32→31, template 16→15).

    Computed as two matrix products with `_bicubic_matrix`, equal to `F.interpolate(..., "bicubic")`
    to float rounding: onnxruntime's cubic Resize took 128 of the paper CAND's 230 ms per frame
    (BENCHMARKS.md), its MatMul a fraction of a millisecond.
    """
    h, w = x.shape[-2:]
    if size <= 0 or (size == h and size == w):
        return x
    rows = torch.from_numpy(_bicubic_matrix(h, size)).to(device=x.device, dtype=x.dtype)
    cols = rows if w == h else torch.from_numpy(_bicubic_matrix(w, size)).to(device=x.device, dtype=x.dtype)
    return torch.matmul(torch.matmul(rows, x), cols.T)


def _necks(in_channels: list[int], hidden: int) -> nn.ModuleList:
    return nn.ModuleList(
        nn.Sequential(nn.Conv2d(c, hidden, 1, bias=False), nn.BatchNorm2d(hidden)) for c in in_channels
    )


class ScarHead(nn.Module):
    """`separate_necks`: the template and search branches get necks of their own (official VLT-SCAR);
    otherwise one neck serves both (pysot). `ltrb`: `stride_exp` = stride·exp(clamp(·)),
    `exp` = exp(·) in crop pixels as the official CARHead returns it."""

    def __init__(self, in_channels: list[int], hidden: int, tower_depth: int, groups: int, *,
                 separate_necks: bool = False, ltrb: str = "stride_exp") -> None:
        super().__init__()
        if separate_necks:
            self.neck_template = _necks(in_channels, hidden)
            self.neck_search = _necks(in_channels, hidden)
        else:
            self.neck = _necks(in_channels, hidden)
        self.ltrb_mode = ltrb
        self.down = nn.Conv2d(hidden * len(in_channels), hidden, 1)
        self.cls_tower = _tower(hidden, tower_depth, groups)
        self.box_tower = _tower(hidden, tower_depth, groups)
        self.cls_logits = nn.Conv2d(hidden, 2, 3, 1, 1)
        self.centerness = nn.Conv2d(hidden, 1, 3, 1, 1)
        self.ltrb = nn.Conv2d(hidden, 4, 3, 1, 1)
        for conv in (self.cls_logits, self.centerness, self.ltrb):
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)

    def necks(self, branch: str) -> nn.ModuleList:
        if hasattr(self, "neck"):
            return self.neck
        return self.neck_template if branch == "template" else self.neck_search

    def template(self, feats: list[torch.Tensor], crop: int, size: int = 0) -> list[torch.Tensor]:
        """Resize + neck + centre crop of the template features (once per video)."""
        return [center_crop(neck(resize(f, size)), crop) for neck, f in zip(self.necks("template"), feats, strict=True)]

    def forward(self, kernels: list[torch.Tensor], search: list[torch.Tensor],
                stride: int, size: int = 0) -> dict[str, torch.Tensor]:
        corr = [xcorr_depthwise(neck(resize(x, size)), k)
                for neck, x, k in zip(self.necks("search"), search, kernels, strict=True)]
        fused = self.down(torch.cat(corr, dim=1))
        cls_feat = self.cls_tower(fused)
        raw = self.ltrb(self.box_tower(fused))
        if self.ltrb_mode == "exp":
            ltrb = torch.exp(raw)
        else:
            # ltrb in crop pixels; predicting log(distance / stride) keeps the conv output O(1) and the
            # random-init boxes about one stride wide. The clamp guards exp() against early blow-ups.
            ltrb = stride * torch.exp(raw.clamp(-6.0, 6.0))
        return {"cls": self.cls_logits(cls_feat), "cen": self.centerness(cls_feat), "ltrb": ltrb}
