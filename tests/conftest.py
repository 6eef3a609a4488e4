from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
SPACES = ROOT / "search_spaces"

# A tracker-free twin of search_spaces/tiny.yaml: the foundation is tested without any plugin.
TINY_BACKBONE = """\
name: tiny_backbone
branches:
  template: {input: 63}
  search: {input: 127}
share_weights: true
backbone:
  stem: {channels: 8, kernel: 3, stride: 2}
  ops: [shuffle3, shuffle5, shuffle7, xception3]
  stages:
    stage1: {channels: 16, depth: 1, stride: 2}
    stage2: {channels: 24, depth: 2, stride: 2}
    stage3: {channels: 32, depth: 1, stride: 1, projection: true}
    stage4: {channels: 48, depth: 1, stride: 1, projection: true}
mixer:
  language_dim: 12
  pre: {ops: [skip, shuffle3]}
  post: {ops: [shuffle3, xception3]}
"""


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    torch.manual_seed(0)


@pytest.fixture
def tiny_backbone():
    from nasvl.space import parse_space_text

    return parse_space_text(TINY_BACKBONE, "tiny_backbone.yaml")
