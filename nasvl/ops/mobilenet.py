"""MobileNetV2 inverted-residual ops (k3/5/7 × expansion 4/6), as in LightTrack's space."""

from __future__ import annotations

import torch
from torch import nn

from nasvl.ops.counting import chain_macs
from nasvl.ops.registry import OpSpec, register_op


def ir_rejects(spec: OpSpec) -> str | None:
    if spec.stride not in (1, 2):
        return f"stride must be 1 or 2, got {spec.stride}"
    return None


class InvertedResidual(nn.Module):
    def __init__(self, spec: OpSpec, kernel: int, expansion: int) -> None:
        super().__init__()
        hidden = spec.in_channels * expansion
        a = spec.affine
        self.residual = spec.stride == 1 and spec.in_channels == spec.out_channels
        self.body = nn.Sequential(
            nn.Conv2d(spec.in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden, affine=a), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, kernel, spec.stride, kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden, affine=a), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, spec.out_channels, 1, bias=False), nn.BatchNorm2d(spec.out_channels, affine=a),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + out if self.residual else out

    def macs(self, h: int, w: int) -> int:
        return chain_macs(self.body, h, w)[0]


for _k in (3, 5, 7):
    for _e in (4, 6):
        register_op(f"ir_k{_k}_e{_e}", rejects=ir_rejects)(
            lambda spec, _k=_k, _e=_e: InvertedResidual(spec, _k, _e)
        )
