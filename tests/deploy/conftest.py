"""Exports with random weights and random BN statistics (folding identity BNs would prove nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import trackers  # noqa: F401  (registers the tracker plugins before spaces are parsed)
from nasvl.bench.trackers import paper_cand
from nasvl.export import load_subnet, save_subnet
from nasvl.space import Architecture, SearchSpace, from_cand, load_space
from nasvl.supernet import Subnet

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"


def randomize_bn(net: torch.nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            if m.affine:
                m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)


def arch_of(space: SearchSpace, which: str) -> Architecture:
    if which == "paper":
        return from_cand(space, paper_cand(SPACES))
    import random

    return space.sample(random.Random(0))


def make_export(space_file: str, which: str, out: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    space = load_space(SPACES / space_file)
    net = Subnet(space, arch_of(space, which)).eval()
    randomize_bn(net, seed)
    return save_subnet(net, out)


@pytest.fixture
def export_of(tmp_path: Path):  # noqa: ANN201 - a factory
    def make(space_file: str, which: str = "sample") -> tuple[Path, Subnet]:
        path = make_export(space_file, which, tmp_path / f"{space_file}-{which}")
        return path, load_subnet(path)

    return make
