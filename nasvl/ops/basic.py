"""Shape-preserving ops: `skip` (identity) lets a space search depth, or leave a mixer's pre block empty."""

from __future__ import annotations

import torch
from torch import nn

from nasvl.ops.registry import OpSpec, register_op


def skip_rejects(spec: OpSpec) -> str | None:
    if spec.stride != 1 or spec.projection or spec.in_channels != spec.out_channels:
        return "skip needs stride 1, no projection and equal in/out channels"
    return None


class Identity(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def macs(self, h: int, w: int) -> int:
        return 0


register_op("skip", rejects=skip_rejects)(lambda spec: Identity())
