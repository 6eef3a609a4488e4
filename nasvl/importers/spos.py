"""The SPOS ImageNet supernet (megvii-model/SinglePathOneShot) onto a nasvl backbone.

Official layout: `first_conv.{0,1}.*` (3×3 stem conv + BN), `features.<layer>.<choice>.*` for
20 layers × 4 choices (0 shuffle3, 1 shuffle5, 2 shuffle7, 3 xception3; `branch_main` and
`branch_proj` with the same Sequential indices as nasvl's ShuffleBlock), then `conv_last.*`
and `classifier.0.weight` (the ImageNet classifier, which a tracker does not use). Layer L is
the L-th backbone layer of the space, counted over its stages in order; the weights have the
same shapes whether a layer strides (ImageNet) or keeps stride 1 with a projection (VLT
stages 3-4), so the paper's supernet starts from these weights as the paper does.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from nasvl.errors import CheckpointError
from nasvl.importers.checkpoint import ImportReport, Mapping_, apply_mapping, load_state_dict_file
from nasvl.ops.shufflenet import SPOS_CHOICES
from nasvl.supernet.network import SHARED, Network

CLASSIFIER_PREFIXES = ("conv_last.", "classifier.")
_LAYER = re.compile(r"^layers\.(\w+)\.(\w+)\.(\d+)\.ops\.(\w+)\.(.+)$")
_STEM = re.compile(r"^stems\.(\w+)\.(.+)$")


def layer_index(net: Network) -> dict[tuple[str, int], int]:
    """(stage, layer) -> global SPOS layer index."""
    out: dict[tuple[str, int], int] = {}
    for st in net.space.stages:
        for i in range(st.depth):
            out[(st.name, i)] = len(out)
    return out


def backbone_mapping(net: Network, prefix: str = "") -> tuple[Mapping_, set[str]]:
    """(source, target, None) for every stem and backbone-layer key of `net`, and the layer keys' ops.

    `prefix` is the official module path in front of `first_conv`/`features` (SOTS: `backbone.`).
    """
    index = layer_index(net)
    mapping: Mapping_ = []
    for key in net.state_dict():
        m = _STEM.match(key)
        if m:
            mapping.append((f"{prefix}first_conv.{m.group(2)}", key, None))
            continue
        m = _LAYER.match(key)
        if m:
            _, stage, i, op, rest = m.groups()
            if op not in SPOS_CHOICES:
                continue
            layer = index[(stage, int(i))]
            mapping.append((f"{prefix}features.{layer}.{SPOS_CHOICES.index(op)}.{rest}", key, None))
    return mapping, set()


def _check_depth(net: Network, source: dict[str, torch.Tensor], file: str, prefix: str) -> None:
    layers = {int(k.split(".")[1 + prefix.count(".")]) for k in source if k.startswith(prefix + "features.")}
    want = sum(st.depth for st in net.space.stages)
    if layers and max(layers) + 1 != want:
        raise CheckpointError(f"{file}: the checkpoint has {max(layers) + 1} SPOS layers but space "
                              f"{net.space.name!r} has {want} backbone layers")


def import_spos_supernet(path: str | Path, net: Network) -> ImportReport:
    """Load an SPOS ImageNet supernet checkpoint into `net`'s stem(s) and backbone layers.

    Mixers, tracker head and template embedders keep their initial values (listed as missing);
    the classifier (`conv_last`, `classifier`) is listed as unused; layer choices the space does
    not offer are listed as unused too.
    """
    file = str(path)
    source = load_state_dict_file(path)
    _check_depth(net, source, file, "")
    mapping, _ = backbone_mapping(net)
    sources = {s for s, _, _ in mapping}
    unused = {k: "ImageNet classifier" for k in source if k.startswith(CLASSIFIER_PREFIXES)}
    unused.update({k: "choice not offered by the space" for k in source
                   if k.startswith("features.") and k not in sources})
    backbone = ("stems.", "layers.")
    return apply_mapping(source, mapping, net, file=file, unused=unused,
                         allow_missing=lambda key: not key.startswith(backbone))


class SposClassifier(nn.Module):
    """The official ImageNet tail (conv_last 640→1024 + BN + ReLU, global average pool, Linear
    without bias), rebuilt from a checkpoint; used to prove a whole SPOS path against its logits."""

    def __init__(self, source: dict[str, torch.Tensor]) -> None:
        super().__init__()
        w = source["conv_last.0.weight"]
        self.conv_last = nn.Sequential(nn.Conv2d(w.shape[1], w.shape[0], 1, bias=False),
                                       nn.BatchNorm2d(w.shape[0], affine=False), nn.ReLU(inplace=True))
        fc = source["classifier.0.weight"]
        self.classifier = nn.Linear(fc.shape[1], fc.shape[0], bias=False)
        state = {k: v for k, v in source.items() if k.startswith("conv_last.")}
        state["classifier.weight"] = fc
        self.load_state_dict(state, strict=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.conv_last(x).mean(dim=(2, 3)))


__all__ = ["SHARED", "SposClassifier", "backbone_mapping", "import_spos_supernet", "layer_index"]
