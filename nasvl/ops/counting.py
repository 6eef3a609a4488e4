"""Analytic MAC counting for conv chains.

Convention (as in SPOS/LightTrack FLOPs tables): MACs are the multiply-adds of
Conv2d and Linear layers; BN, activations, shuffles and additions are free.
"""

from __future__ import annotations

from torch import nn


def conv_out(size: int, conv: nn.Conv2d, axis: int) -> int:
    k, s, p, d = conv.kernel_size[axis], conv.stride[axis], conv.padding[axis], conv.dilation[axis]
    assert isinstance(p, int), "string padding is not supported by the analytic counter"
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv_macs(conv: nn.Conv2d, h: int, w: int) -> tuple[int, int, int]:
    """MACs of one conv on an h×w input, and its output size."""
    ho, wo = conv_out(h, conv, 0), conv_out(w, conv, 1)
    kh, kw = conv.kernel_size
    macs = ho * wo * conv.out_channels * (conv.in_channels // conv.groups) * kh * kw
    return macs, ho, wo


def chain_macs(chain: nn.Sequential, h: int, w: int) -> tuple[int, int, int]:
    """MACs of a sequential chain in which only convs change the spatial size."""
    total = 0
    for module in chain:
        if isinstance(module, nn.Conv2d):
            macs, h, w = conv_macs(module, h, w)
            total += macs
        elif isinstance(module, nn.Linear):
            total += module.in_features * module.out_features
    return total, h, w
