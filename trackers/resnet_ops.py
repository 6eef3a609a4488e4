"""The ResNet bottleneck as a registered op, so a ResNet-50 backbone is a space of fixed layers.

It exists for the classic speed comparison (SiamCAR's ResNet-50 against the searched
VLT-SCAR backbone) and follows torchvision's v1.5 block: 1×1 reduce → 3×3 (carrying the
stride) → 1×1 expand (×4), with a 1×1 projection shortcut whenever the shape changes.
SiamCAR's layer3/4 dilations are left out: at the same resolution they cost the same MACs.
"""

from __future__ import annotations

import torch
from torch import nn

from nasvl.ops import OpSpec, register_op
from nasvl.ops.counting import chain_macs

EXPANSION = 4


def bottleneck_rejects(spec: OpSpec) -> str | None:
    if spec.stride not in (1, 2):
        return f"stride must be 1 or 2, got {spec.stride}"
    if spec.out_channels % EXPANSION:
        return f"out_channels must be a multiple of {EXPANSION} (bottleneck expansion), got {spec.out_channels}"
    return None


class Bottleneck(nn.Module):
    def __init__(self, spec: OpSpec) -> None:
        super().__init__()
        mid, a = spec.out_channels // EXPANSION, spec.affine
        self.body = nn.Sequential(
            nn.Conv2d(spec.in_channels, mid, 1, bias=False), nn.BatchNorm2d(mid, affine=a), nn.ReLU(inplace=True),
            nn.Conv2d(mid, mid, 3, spec.stride, 1, bias=False), nn.BatchNorm2d(mid, affine=a), nn.ReLU(inplace=True),
            nn.Conv2d(mid, spec.out_channels, 1, bias=False), nn.BatchNorm2d(spec.out_channels, affine=a),
        )
        self.shortcut: nn.Module | None = None
        if spec.stride != 1 or spec.in_channels != spec.out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(spec.in_channels, spec.out_channels, 1, spec.stride, bias=False),
                nn.BatchNorm2d(spec.out_channels, affine=a),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.relu(self.body(x) + identity)

    def macs(self, h: int, w: int) -> int:
        """Analytic MACs, so the cost model prices this op like the built-in ones."""
        total, _, _ = chain_macs(self.body, h, w)
        if self.shortcut is not None:
            total += chain_macs(self.shortcut, h, w)[0]
        return total


register_op("bottleneck", rejects=bottleneck_rejects)(Bottleneck)
