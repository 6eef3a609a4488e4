"""TransT's losses with its fixed assignment: CE on every position, L1 and GIoU on positives.

TransT needs no Hungarian matching for a single target: the search positions whose cell
centre lies inside the ground-truth box are positives, all others background (as the
TransT paper states). A box smaller than one cell still gets its nearest cell as a
positive. Negative pairs have only background. Class 1 is the foreground here.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from trackers.geometry import cxcywh_to_xyxy, generalized_iou, grid_points


def tt_positives(search_box: torch.Tensor, negative: torch.Tensor, h: int, w: int, stride: int,
                 size: int) -> torch.Tensor:
    """(B, h·w) bool: cells inside the box, at least the nearest one, none for negative pairs."""
    pts = grid_points(h, w, stride, size, search_box.device)  # (N, 2)
    box = search_box.float()
    inside = ((pts[None, :, 0] >= box[:, None, 0]) & (pts[None, :, 0] <= box[:, None, 2])
              & (pts[None, :, 1] >= box[:, None, 1]) & (pts[None, :, 1] <= box[:, None, 3]))
    centre = (box[:, :2] + box[:, 2:]) / 2
    nearest = ((pts[None] - centre[:, None]) ** 2).sum(-1).argmin(1)
    inside[torch.arange(len(box)), nearest] = True
    return inside & ~negative.to(inside.device)[:, None]


def tt_loss(outputs: dict[str, torch.Tensor], batch: dict[str, Any], *, h: int, w: int, stride: int,
            size: int, weights: tuple[float, float, float], background_weight: float) -> dict[str, torch.Tensor]:
    logits, boxes = outputs["cls"], outputs["box"]
    b = logits.shape[0]
    negative = batch.get("negative")
    if negative is None:
        negative = torch.zeros(b, dtype=torch.bool)
    search_box = batch["search_box"].to(logits.device).float()
    pos = tt_positives(search_box, negative, h, w, stride, size)
    class_weight = torch.tensor([background_weight, 1.0], device=logits.device, dtype=logits.dtype)
    ce = F.cross_entropy(logits.reshape(-1, 2), pos.reshape(-1).long(), weight=class_weight)
    pred = boxes[pos]  # (P, 4) normalised cxcywh
    if pred.numel():
        target_xyxy = (search_box / size)[:, None, :].expand(b, pos.shape[1], 4)[pos]
        x0, y0, x1, y1 = target_xyxy.unbind(-1)
        target = torch.stack(((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0), dim=-1)
        l1 = F.l1_loss(pred, target)
        _, giou = generalized_iou(cxcywh_to_xyxy(pred), target_xyxy)
        giou_loss = (1 - giou).mean()
    else:  # all-negative batch: keep every parameter in the graph
        l1 = giou_loss = boxes.sum() * 0.0
    w_ce, w_l1, w_giou = weights
    total = w_ce * ce + w_l1 * l1 + w_giou * giou_loss
    return {"cls": ce, "l1": l1, "giou": giou_loss, "total": total}
