"""SPOS ShuffleNetV2 choice blocks, as in the official SPOS supernet.

shuffle{3,5,7}: pw → dw(k, stride) → pw-linear, on half the channels (channel
split) when the layer keeps its shape; on all input channels next to a
projection branch (dw → pw) when it downsamples or changes width.
xception3: three dw3×3 + pw pairs in the main branch. mid = out/2 in both.

The projection is taken for stride 2, and for a stride-1 layer whose space
declares `projection: true` (VLT's stages 3–4, which widen without striding).
"""

from __future__ import annotations

import torch
from torch import nn

from nasvl.ops.counting import chain_macs
from nasvl.ops.registry import OpSpec, register_op


def channel_split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SPOS `channel_shuffle`: even channels pass through, odd channels go through the main branch."""
    return x[:, 0::2], x[:, 1::2]


def _bn(channels: int, affine: bool) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, affine=affine)


def _dw(channels: int, kernel: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, kernel, stride, kernel // 2, groups=channels, bias=False)


def _pw(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, 1, 0, bias=False)


def uses_projection(spec: OpSpec) -> bool:
    return spec.stride == 2 or spec.projection


def shuffle_rejects(spec: OpSpec) -> str | None:
    if spec.stride not in (1, 2):
        return f"stride must be 1 or 2, got {spec.stride}"
    if uses_projection(spec):
        if spec.out_channels <= spec.in_channels:
            return (f"a projection layer needs out_channels > in_channels "
                    f"(got {spec.in_channels}→{spec.out_channels})")
        return None
    if spec.in_channels != spec.out_channels:
        return (f"a stride-1 layer without projection must keep its width "
                f"(got {spec.in_channels}→{spec.out_channels}); declare projection: true")
    if spec.in_channels % 2:
        return f"channel split needs an even channel count, got {spec.in_channels}"
    return None


class ShuffleBlock(nn.Module):
    def __init__(self, spec: OpSpec, kernel: int, xception: bool = False) -> None:
        super().__init__()
        self.kernel, self.xception = kernel, xception
        self.use_projection = uses_projection(spec)
        inp = spec.in_channels if self.use_projection else spec.in_channels // 2
        outputs = spec.out_channels - inp
        mid = spec.out_channels // 2
        a, s = spec.affine, spec.stride
        if xception:
            main: list[nn.Module] = [
                _dw(inp, 3, s), _bn(inp, a), _pw(inp, mid), _bn(mid, a), nn.ReLU(inplace=True),
                _dw(mid, 3, 1), _bn(mid, a), _pw(mid, mid), _bn(mid, a), nn.ReLU(inplace=True),
                _dw(mid, 3, 1), _bn(mid, a), _pw(mid, outputs), _bn(outputs, a), nn.ReLU(inplace=True),
            ]
        else:
            main = [
                _pw(inp, mid), _bn(mid, a), nn.ReLU(inplace=True),
                _dw(mid, kernel, s), _bn(mid, a),
                _pw(mid, outputs), _bn(outputs, a), nn.ReLU(inplace=True),
            ]
        self.branch_main = nn.Sequential(*main)
        if self.use_projection:
            pk = 3 if xception else kernel
            self.branch_proj = nn.Sequential(
                _dw(inp, pk, s), _bn(inp, a), _pw(inp, inp), _bn(inp, a), nn.ReLU(inplace=True)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_projection:
            return torch.cat((self.branch_proj(x), self.branch_main(x)), 1)
        x_proj, x_main = channel_split(x)
        return torch.cat((x_proj, self.branch_main(x_main)), 1)

    def macs(self, h: int, w: int) -> int:
        total, _, _ = chain_macs(self.branch_main, h, w)
        if self.use_projection:
            total += chain_macs(self.branch_proj, h, w)[0]
        return total


for _k in (3, 5, 7):
    register_op(f"shuffle{_k}", rejects=shuffle_rejects)(lambda spec, _k=_k: ShuffleBlock(spec, _k))
register_op("xception3", rejects=shuffle_rejects)(lambda spec: ShuffleBlock(spec, 3, xception=True))

SPOS_CHOICES = ("shuffle3", "shuffle5", "shuffle7", "xception3")
"""Choice index 0..3 of the official SPOS/VLT `CAND` encoding."""
