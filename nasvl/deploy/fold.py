"""Eval-mode BatchNorm folded into the convolution before it.

A BatchNorm2d in eval mode is an affine map per channel, y = (x − μ)·γ/√(σ²+ε) + β, so a conv
followed by it is one conv with rescaled weights and a bias. Every conv+BN pair in nasvl's
networks sits side by side in an `nn.Sequential` (ShuffleNet branches, stems, necks, the
official token map), which is where this looks for them.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def _fuse(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    assert bn.running_mean is not None and bn.running_var is not None
    fused = copy.deepcopy(conv)
    scale = torch.rsqrt(bn.running_var.double() + bn.eps)
    if bn.weight is not None:  # the supernet's BN is non-affine: γ = 1, β = 0
        scale = scale * bn.weight.double()
    shift = -bn.running_mean.double() * scale
    if bn.bias is not None:
        shift = shift + bn.bias.double()
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(shift)
    weight = conv.weight.double() * scale.reshape(-1, *([1] * (conv.weight.dim() - 1)))
    fused.weight = nn.Parameter(weight.to(conv.weight.dtype), requires_grad=False)
    fused.bias = nn.Parameter((bias * scale + shift).to(conv.weight.dtype), requires_grad=False)
    return fused


def fold_batchnorm(module: nn.Module) -> int:
    """Fold every (Conv2d, BatchNorm2d) pair of `module`'s Sequentials in place; returns the pairs folded.

    Only for inference: the module must be in eval mode (running statistics, not batch ones).
    """
    if module.training:
        raise ValueError("fold_batchnorm needs an eval-mode module (BN folding uses running statistics)")
    folded = 0
    for seq in [m for m in module.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for a, b in zip(names[:-1], names[1:], strict=True):
            conv, bn = seq._modules[a], seq._modules[b]
            if (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats
                    and conv.out_channels == bn.num_features):
                seq._modules[a] = _fuse(conv, bn)
                seq._modules[b] = nn.Identity()
                folded += 1
    return folded


def count_batchnorm(module: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in module.modules())
