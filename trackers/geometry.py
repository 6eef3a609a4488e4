"""Score-map geometry shared by the heads' losses and their inference trackers.

One convention everywhere: cell i of an n-cell map at stride s looks at crop coordinate
`size/2 + (i - (n-1)/2)·s` (continuous pixels, the crop centre is size/2). Training
targets and inference decoding both use it, so a trained head decodes consistently.
"""

from __future__ import annotations

import torch


def cell_centers(n: int, stride: int, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(n,) crop coordinates of the cells along one axis."""
    return size / 2 + (torch.arange(n, device=device, dtype=torch.float32) - (n - 1) / 2) * stride


def grid_points(h: int, w: int, stride: int, size: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """(h·w, 2) xy crop coordinates of every cell, row-major."""
    ys = cell_centers(h, stride, size, device)
    xs = cell_centers(w, stride, size, device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack((gx.reshape(-1), gy.reshape(-1)), dim=-1)


def ltrb_targets(points: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(B, N, 4) distances from each point (N,2) to the sides of each xyxy box (B,4)."""
    x, y = points[None, :, 0], points[None, :, 1]
    return torch.stack((x - boxes[:, None, 0], y - boxes[:, None, 1],
                        boxes[:, None, 2] - x, boxes[:, None, 3] - y), dim=-1)


def cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), dim=-1)


def generalized_iou(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Elementwise IoU and GIoU of xyxy boxes of the same shape (…, 4)."""
    area_a = (a[..., 2] - a[..., 0]).clamp(min=0) * (a[..., 3] - a[..., 1]).clamp(min=0)
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    lt = torch.maximum(a[..., :2], b[..., :2])
    rb = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_a + area_b - inter
    iou = inter / union.clamp(min=1e-7)
    hull = (torch.maximum(a[..., 2:], b[..., 2:]) - torch.minimum(a[..., :2], b[..., :2])).clamp(min=0).prod(-1)
    return iou, iou - (hull - union) / hull.clamp(min=1e-7)
