"""YAML-facing configuration of training pairs: which datasets, in what share, with
which language fallback. Parsed strictly through `nasvl.config` (unknown keys, wrong
types and bad values are located errors), then turned into a `PairDataset`.

Example (a job's `pairs:` section)::

    sources:
      - {name: synth, root: data/synth/train, format: lasot, share: 0.5, lang_mode: template}
      - {name: coco, root: data/synth/coco, format: coco, share: 0.5}
    negative_rate: 0.2
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from nasvl.config import Node, parse_dataclass
from nasvl.data.pairs.augment import SEARCH_AUG, TEMPLATE_AUG, AugmentConfig
from nasvl.data.pairs.dataset import PairDataset, PairSource
from nasvl.data.registry import check_format, load_dataset
from nasvl.errors import ConfigError


@dataclass(frozen=True)
class SourceConfig:
    root: str
    format: str
    split: str | None = None
    share: float = 1.0
    lang_mode: Literal["zeros", "template"] = "zeros"
    frame_range: int = 100
    name: str = ""


@dataclass(frozen=True)
class PairsConfig:
    sources: tuple[SourceConfig, ...]
    seed: int = 0
    template_size: int = 127
    search_size: int = 255
    context: float = 0.5
    pairs_per_epoch: int = 10_000
    negative_rate: float = 0.2
    text_negative_rate: float = 0.0  # beyond the paper: positives relabelled negative with a wrong description
    template_aug: AugmentConfig = TEMPLATE_AUG
    search_aug: AugmentConfig = SEARCH_AUG


def parse_pairs_config(node: Node) -> PairsConfig:
    """Strict parse of a `pairs:` mapping; checks the rules types cannot express."""
    cfg = parse_dataclass(PairsConfig, node)
    if not cfg.sources:
        raise node.error("pairs.sources: need at least one source")
    for i, src in enumerate(cfg.sources):
        where = node.child("sources").child(i)
        check_format(where)
        if src.share < 0:
            raise where.child("share").error(f"share must be >= 0, got {src.share}")
    for key in ("negative_rate", "text_negative_rate"):
        if not 0 <= getattr(cfg, key) <= 1:
            raise node.child(key).error("must be within [0, 1]")
    return cfg


def build_pair_dataset(cfg: PairsConfig, *, base_dir: str | Path | None = None,
                       embeddings: Mapping[str, torch.Tensor] | None = None) -> PairDataset:
    """Read every source leniently (training skips broken videos with one warning each)."""
    sources = []
    for src in cfg.sources:
        root = Path(src.root) if base_dir is None or Path(src.root).is_absolute() else Path(base_dir) / src.root
        root = root.resolve()  # absolute: Ray workers run in other working directories
        videos = load_dataset(root, src.format, src.split, strict=False)
        if not videos:
            raise ConfigError(f"source {src.name or src.root!r} has no readable video", path="pairs.sources")
        sources.append(PairSource(videos, share=src.share, lang_mode=src.lang_mode,
                                  frame_range=src.frame_range, name=src.name or root.name))
    return PairDataset(sources, seed=cfg.seed, template_size=cfg.template_size, search_size=cfg.search_size,
                       context=cfg.context, pairs_per_epoch=cfg.pairs_per_epoch, negative_rate=cfg.negative_rate,
                       template_aug=cfg.template_aug, search_aug=cfg.search_aug, embeddings=embeddings,
                       text_negative_rate=cfg.text_negative_rate)
