"""In-place distillation (BigNAS, OFA): the sandwich's largest path teaches the other paths.

Within one step the largest path trains on the ground truth; its detached outputs are soft
targets for the smallest and random paths, whose loss is `ground truth + weight × distillation`.
The teacher costs no extra forward pass and needs no separately trained model.

Each head output is distilled with a loss that fits what it is (the tracker plugins' outputs):

* `cls` — two-class logits, (B, 2, H, W) for SiamCAR or (B, N, 2) for TransT: KL divergence from
  the teacher's softmax over the class axis, averaged over positions.
* `cen` — SiamCAR's centerness logits: binary KL from the teacher's sigmoid (BCE minus the
  teacher's entropy, so it is zero when the two agree, unlike plain BCE).
* `ltrb` — SiamCAR's l, t, r, b distances: SiamCAR's −log IoU between student and teacher boxes.
* `box` — TransT's normalised cxcywh: L1 to the teacher's boxes.

Box losses are weighted by the teacher's foreground probability: where the teacher sees
background, its box is not a target worth copying. A plugin with other outputs declares
`distill_outputs = {name: kind}` with kinds from `KINDS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nasvl.errors import NasvlError

KINDS = ("softmax", "sigmoid", "ltrb_iou", "l1")
DEFAULT_OUTPUTS = {"cls": "softmax", "cen": "sigmoid", "ltrb": "ltrb_iou", "box": "l1"}


@dataclass(frozen=True)
class DistillConfig:
    """`train.distill: {weight: w}`; needs `train.sandwich` (the largest path is the teacher)."""

    weight: float = 1.0


def _per_position(t: torch.Tensor, channels: int) -> torch.Tensor:
    """(B, C, H, W) maps or (B, N, C) rows -> (B·positions, C), the class/box axis last."""
    if t.dim() == 4:
        return t.permute(0, 2, 3, 1).reshape(-1, channels)
    return t.reshape(-1, channels)


def _foreground(teacher: Mapping[str, torch.Tensor]) -> torch.Tensor | None:
    """The teacher's per-position foreground probability (class 1), when it has a `cls` output."""
    cls = teacher.get("cls")
    return None if cls is None else _per_position(cls, 2).softmax(-1)[:, 1]


def _weighted_mean(values: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    if weight is None:
        return values.mean()
    return (values * weight).sum() / weight.sum().clamp(min=1e-6)


def _ltrb_iou(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """−log IoU of ltrb boxes around the same point (SiamCAR's IOULoss), per position."""
    s, t = student.clamp(min=0), teacher.clamp(min=0)
    area_s = (s[:, 0] + s[:, 2]) * (s[:, 1] + s[:, 3])
    area_t = (t[:, 0] + t[:, 2]) * (t[:, 1] + t[:, 3])
    inter = (torch.minimum(s[:, 0], t[:, 0]) + torch.minimum(s[:, 2], t[:, 2])) \
        * (torch.minimum(s[:, 1], t[:, 1]) + torch.minimum(s[:, 3], t[:, 3]))
    return -torch.log((inter + 1.0) / (area_s + area_t - inter + 1.0))


def output_loss(kind: str, student: torch.Tensor, teacher: torch.Tensor,
                foreground: torch.Tensor | None) -> torch.Tensor:
    """The distillation loss of one output; zero when `student` equals `teacher`."""
    if kind == "softmax":
        c = student.shape[1] if student.dim() == 4 else student.shape[-1]
        log_s, log_t = _per_position(student, c).log_softmax(-1), _per_position(teacher, c).log_softmax(-1)
        return (log_t.exp() * (log_t - log_s)).sum(-1).mean()
    if kind == "sigmoid":
        s, t = student.reshape(-1), teacher.reshape(-1)
        p = torch.sigmoid(t)
        kl = p * (F.logsigmoid(t) - F.logsigmoid(s)) + (1 - p) * (F.logsigmoid(-t) - F.logsigmoid(-s))
        return kl.mean()
    if kind == "ltrb_iou":
        return _weighted_mean(_ltrb_iou(_per_position(student, 4), _per_position(teacher, 4)), foreground)
    if kind == "l1":
        return _weighted_mean((_per_position(student, 4) - _per_position(teacher, 4)).abs().sum(-1), foreground)
    raise NasvlError(f"unknown distillation kind {kind!r} (known: {', '.join(KINDS)})")


def distill_loss(student: Mapping[str, torch.Tensor], teacher: Mapping[str, torch.Tensor],
                 kinds: Mapping[str, str] = DEFAULT_OUTPUTS) -> torch.Tensor:
    """Sum over the outputs of their distillation losses; the teacher is detached here."""
    teacher = {k: v.detach() for k, v in teacher.items()}
    foreground = _foreground(teacher)
    total = None
    for name, s in student.items():
        if name not in kinds:
            raise NasvlError(f"in-place distillation does not know how to distill the head output {name!r} "
                             f"(known: {', '.join(sorted(kinds))}); the tracker plugin can declare "
                             f"distill_outputs = {{{name!r}: kind}} with a kind from {', '.join(KINDS)}")
        loss = output_loss(kinds[name], s, teacher[name], foreground)
        total = loss if total is None else total + loss
    if total is None:
        raise NasvlError("in-place distillation: the head returned no outputs")
    return total
