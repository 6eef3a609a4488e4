"""Which modules an architecture runs, and BN recalibration on that path.

Supernet BN statistics are a blend over every sampled path; before an
architecture is scored, SPOS re-estimates them for that path alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import torch
from torch import nn

from nasvl.supernet.network import SHARED, ChoiceLayer, Network, Subnet


def path_modules(net: Network, arch: Mapping[str, str]) -> Iterator[tuple[str, nn.Module]]:
    """(name, module) of every module `arch` runs: fixed parts plus the chosen ops of each layer."""
    ops = net.space.resolve(arch)
    used: dict[int, set[str]] = {}
    for key, stages in net.layers.items():
        # A shared layer may run two ops when the branches choose differently.
        branches = net.space.branches if key == SHARED else (key,)
        for st_name, layer_list in stages.items():
            for i, layer in enumerate(layer_list):
                used[id(layer)] = {ops[f"{b}.{st_name}.{i}"] for b in branches}
    for key, mixers in net.mixers.items():
        # A shared mixer may run two post ops when the branches choose differently.
        branches = net.space.branches if key == SHARED else (key,)
        for st_name, mixer in mixers.items():
            if mixer.pre is not None:
                used[id(mixer.pre)] = {ops[f"{b}.{st_name}.pre"] for b in branches}
            used[id(mixer.post)] = {ops[f"{b}.{st_name}.post"] for b in branches}
    skipped: list[str] = []
    for name, module in net.named_modules():
        if any(name == p or name.startswith(p + ".") for p in skipped):
            continue
        if isinstance(module, ChoiceLayer):
            skipped.extend(f"{name}.ops.{op}" for op in module.ops if op not in used[id(module)])
        yield name, module


@torch.no_grad()
def recalibrate_bn(net: Network, arch: Mapping[str, str], batches: Iterable[Any], *,
                   forward: Callable[[Network, Any], object] | None = None) -> int:
    """Reset the BN statistics on `arch`'s path and re-estimate them from `batches`.

    By default each batch is the positional input of the network (a tuple); pass
    `forward(net, batch)` for anything else. A cumulative average (momentum=None)
    makes every batch count equally. Returns the number of batches used.
    """
    bns = [m for _, m in path_modules(net, arch) if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    was_training = net.training
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    net.train()
    count = 0
    try:
        for batch in batches:
            if forward is not None:
                forward(net, batch)
            elif isinstance(net, Subnet):
                net(*batch)
            else:
                net(*batch, arch=arch)
            count += 1
    finally:
        for bn, momentum in zip(bns, momenta, strict=True):
            bn.momentum = momentum
        net.train(was_training)
    return count
