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


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    """A small synthetic VL benchmark (LaSOT layout), written once per test session."""
    from nasvl.data.synth import SynthConfig, generate

    out = tmp_path_factory.mktemp("synth")
    cfg = SynthConfig(min_frames=20, max_frames=30)
    return generate(out, videos=6, seed=0, config=cfg, workers=1)


@pytest.fixture(scope="session")
def embed_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("embeddings")


def train_config_text(synth_root, cache_dir, *, space="search_spaces/tiny.yaml", steps=6, extra="", name="t"):
    return f"""\
name: {name}
space: {ROOT / space}
pairs:
  sources:
    - {{root: {synth_root / 'train'}, format: lasot, lang_mode: template}}
  pairs_per_epoch: 200
language: {{model: minilm, cache_dir: {cache_dir}}}
train:
  steps: {steps}
  batch_size: 2
  checkpoint_every: 2
  log_every: 1
  threads: 1
  schedule: {{warmup_steps: 2}}
{extra}"""
