"""SiamCAR's training targets and losses (cls CE, centerness-weighted IoU loss, centerness BCE).

Targets come from the pair dataset's `search_box` (B,4 xyxy search-crop pixels) and
`negative` (B bool). As in SiamCAR, a cell is positive when it lies in the central part of
the box: each of its l/t/r/b distances exceeds `positive_ratio` × the box's half-size
(0.6 → the central 40% of width and height). Negative pairs have no positives.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from trackers.geometry import grid_points, ltrb_targets


def scar_targets(search_box: torch.Tensor, negative: torch.Tensor, h: int, w: int, stride: int,
                 size: int, positive_ratio: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, h·w) positive mask and (B, h·w, 4) ltrb regression targets in crop pixels."""
    points = grid_points(h, w, stride, size, search_box.device)
    ltrb = ltrb_targets(points, search_box.float())
    half_w = (search_box[:, 2] - search_box[:, 0])[:, None] / 2
    half_h = (search_box[:, 3] - search_box[:, 1])[:, None] / 2
    pos = ((ltrb[..., 0] > positive_ratio * half_w) & (ltrb[..., 2] > positive_ratio * half_w)
           & (ltrb[..., 1] > positive_ratio * half_h) & (ltrb[..., 3] > positive_ratio * half_h))
    pos &= ~negative.to(pos.device)[:, None]
    return pos, ltrb


def centerness_target(ltrb: torch.Tensor) -> torch.Tensor:
    lr, tb = ltrb[..., 0::2], ltrb[..., 1::2]
    return torch.sqrt((lr.min(-1).values / lr.max(-1).values.clamp(min=1e-6))
                      * (tb.min(-1).values / tb.max(-1).values.clamp(min=1e-6))).clamp(min=0)


def iou_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """-log(IoU) of ltrb boxes around the same point, weighted by `weight` (SiamCAR's IOULoss)."""
    pred_area = (pred[:, 0] + pred[:, 2]) * (pred[:, 1] + pred[:, 3])
    target_area = (target[:, 0] + target[:, 2]) * (target[:, 1] + target[:, 3])
    w_inter = torch.minimum(pred[:, 0], target[:, 0]) + torch.minimum(pred[:, 2], target[:, 2])
    h_inter = torch.minimum(pred[:, 1], target[:, 1]) + torch.minimum(pred[:, 3], target[:, 3])
    inter = w_inter * h_inter
    iou = (inter + 1.0) / (target_area + pred_area - inter + 1.0)
    losses = -torch.log(iou)
    return (losses * weight).sum() / weight.sum().clamp(min=1e-6)


def scar_loss(outputs: dict[str, torch.Tensor], batch: dict[str, Any], *, stride: int, size: int,
              positive_ratio: float, weights: tuple[float, float, float]) -> dict[str, torch.Tensor]:
    cls, cen, ltrb = outputs["cls"], outputs["cen"], outputs["ltrb"]
    b, _, h, w = cls.shape
    negative = batch.get("negative")
    if negative is None:
        negative = torch.zeros(b, dtype=torch.bool)
    pos, target = scar_targets(batch["search_box"].to(cls.device), negative, h, w, stride, size, positive_ratio)
    logits = cls.permute(0, 2, 3, 1).reshape(b, h * w, 2)
    labels = pos.long()
    # SiamCAR's select_cross_entropy_loss: positives and negatives averaged separately, then halved,
    # so the few positive cells are not drowned by the many negatives.
    ce = F.cross_entropy(logits.reshape(-1, 2), labels.reshape(-1), reduction="none").reshape(b, h * w)
    pos_f = pos.float()
    cls_loss = 0.5 * (ce * pos_f).sum() / pos_f.sum().clamp(min=1) \
        + 0.5 * (ce * (1 - pos_f)).sum() / (1 - pos_f).sum().clamp(min=1)
    pred = ltrb.permute(0, 2, 3, 1).reshape(b, h * w, 4)[pos]
    cen_logits = cen.permute(0, 2, 3, 1).reshape(b, h * w)[pos]
    if pred.numel():
        tgt = target[pos]
        cen_tgt = centerness_target(tgt)
        reg_loss = iou_loss(pred, tgt, cen_tgt)
        cen_loss = F.binary_cross_entropy_with_logits(cen_logits, cen_tgt)
    else:  # all-negative batch: keep the graph connected so DDP-style training sees every parameter
        reg_loss = ltrb.sum() * 0.0
        cen_loss = cen.sum() * 0.0
    w_cls, w_reg, w_cen = weights
    total = w_cls * cls_loss + w_reg * reg_loss + w_cen * cen_loss
    return {"cls": cls_loss, "reg": reg_loss, "cen": cen_loss, "total": total}
