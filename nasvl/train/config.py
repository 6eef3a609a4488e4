"""Training configuration: a file (or a job's sections) with `name`, `space`, `pairs`, `language`, `train`.

    name: tiny_supernet              # outputs go to runs/<name>/
    space: search_spaces/tiny.yaml   # supernet phase; retrain takes the space from the export
    pairs: {sources: [{root: data/synth/train, format: lasot, lang_mode: template}]}
    language: {model: minilm}
    train: {steps: 300, batch_size: 8, optimizer: {lr: 0.01}}

Defaults follow the official SiamCAR/VLT recipe: SGD (momentum 0.9, weight decay
1e-4), linear warm-up then log decay, backbone LR × 0.1. TransT-style trackers
default to AdamW with step decay (their plugin sets `default_optimizer`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from nasvl.config import Node, load_yaml, parse_dataclass
from nasvl.config.limits import (
    BATCH_SIZE,
    CHECKPOINTS_KEPT,
    LOADER_WORKERS,
    PAIRS_PER_EPOCH,
    THREADS,
    TRAIN_STEPS,
    bounded,
)
from nasvl.config.paths import resolve_path, resolve_str
from nasvl.data.pairs.mixing import PairsConfig, parse_pairs_config
from nasvl.errors import ConfigError
from nasvl.train.distill import DistillConfig
from nasvl.train.recipe import SharedWarmupConfig, check_recipe
from nasvl.train.sampling import SandwichConfig


@dataclass(frozen=True)
class OptimizerConfig:
    name: Literal["sgd", "adamw"] = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    backbone_lr_mult: float = 0.1
    grad_clip: float | None = 10.0
    # Beyond the paper (issue 13): the mixers' language projections (d→C) at lr × language_lr_mult.
    # 1.0 keeps the paper's single rate (and the two-group optimizer of older checkpoints).
    language_lr_mult: float = 1.0


@dataclass(frozen=True)
class ScheduleConfig:
    name: Literal["warmup_log", "step", "constant"] = "warmup_log"
    warmup_steps: int = bounded(TRAIN_STEPS, 0, minimum=0)
    warmup_start_factor: float = 0.2  # SiamCAR warms up from lr/5
    end_factor: float = 0.01          # log decay down to lr/100
    step_size: int = bounded(TRAIN_STEPS, 1000, minimum=1)  # step schedule
    gamma: float = 0.1


@dataclass(frozen=True)
class TrainConfig:
    steps: int = bounded(TRAIN_STEPS, minimum=1)
    batch_size: int = bounded(BATCH_SIZE, 8, minimum=1)
    num_workers: int = bounded(LOADER_WORKERS, 0, minimum=0)  # DataLoader worker processes
    device: str = "cpu"
    amp: Literal["none", "bf16", "fp16"] = "none"
    seed: int = 0
    sampling: Literal["uniform", "constrained"] = "uniform"
    optimizer: OptimizerConfig | None = None  # None: the tracker plugin's default
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    checkpoint_every: int = bounded(TRAIN_STEPS, 100, minimum=1)
    keep_checkpoints: int = bounded(CHECKPOINTS_KEPT, 2, minimum=0)  # 0: keep all
    log_every: int = bounded(TRAIN_STEPS, 10, minimum=1)
    deterministic: bool = False
    threads: int | None = bounded(THREADS, None, minimum=1)
    init: Literal["inherited", "scratch"] = "inherited"  # retrain: start from the export's weights or anew
    affine_bn: bool = True                               # retrain: learn BN scale/shift
    spos_init: str | None = None  # supernet: start the backbone from this SPOS ImageNet supernet checkpoint
    # supernet training recipe (nasvl/train/recipe.py), each off by default; measured in BENCHMARKS.md
    sandwich: SandwichConfig | None = None           # largest + smallest + N random paths per step
    distill: DistillConfig | None = None             # in-place distillation from the largest path
    shared_warmup: SharedWarmupConfig | None = None  # train only the shared layers for the first N steps


@dataclass(frozen=True)
class LanguageConfig:
    model: str = "minilm"
    cache_dir: str | None = None


@dataclass(frozen=True)
class TrainSpec:
    name: str
    space: str | None
    pairs: PairsConfig
    language: LanguageConfig
    train: TrainConfig
    file: str = ""


ADAMW_DEFAULT = OptimizerConfig(name="adamw", lr=1e-4, weight_decay=1e-4, backbone_lr_mult=0.1, grad_clip=0.1)


def parse_train_spec(node: Node, *, require_space: bool = True, source: str | Path | None = None) -> TrainSpec:
    node.check_keys({"name", "space", "pairs", "language", "train"}, {"name", "pairs", "train"})
    space = node.child("space") if "space" in node.mapping() else None
    return train_spec_from_nodes(node.child("name").as_str(), space, node.child("pairs"),
                                 node.get("language", {}), node.child("train"), require_space=require_space,
                                 source=source)


def train_spec_from_nodes(name: str, space: Node | None, pairs: Node, language: Node, train: Node, *,
                          require_space: bool = True, source: str | Path | None = None) -> TrainSpec:
    """Build a TrainSpec from sections that may live anywhere in a file (e.g. a job's steps).

    Every path comes out absolute (`nasvl.config.paths`); `source` is the YAML file's real path.
    """
    if require_space and space is None:
        raise train.error("missing the search space to train ('space')")
    cfg = parse_dataclass(TrainConfig, train)  # bounded fields: steps, batch size, workers, threads...
    _check_rates(cfg, train)
    check_recipe(cfg, train)
    if cfg.amp != "none" and not cfg.device.startswith("cuda"):
        raise train.child("amp").error(f"AMP ({cfg.amp}) needs a CUDA device; device is {cfg.device!r}")
    pairs_cfg = parse_pairs_config(pairs)
    check_pairs_size(pairs_cfg, pairs)
    source = source if source is not None else train.doc.file
    if cfg.spos_init is not None:  # resolved on the driver: Ray workers run in other working directories
        cfg = dataclasses.replace(cfg, spos_init=resolve_str(cfg.spos_init, source))
    return TrainSpec(name, resolve_str(space.as_str(), source) if space is not None else None,
                     absolute_sources(pairs_cfg, source), absolute_language(parse_dataclass(LanguageConfig, language),
                                                                            source), cfg, train.doc.file)


def _check_rates(cfg: TrainConfig, train: Node) -> None:
    """Float settings whose sign or range a type cannot express (NaN and inf are refused on parsing)."""
    opt, sched = cfg.optimizer, cfg.schedule
    rules = [
        ("schedule", "warmup_start_factor", sched.warmup_start_factor > 0, "must be > 0"),
        ("schedule", "end_factor", sched.end_factor > 0, "must be > 0"),
        ("schedule", "gamma", sched.gamma > 0, "must be > 0"),
    ]
    if opt is not None:
        rules += [
            ("optimizer", "lr", opt.lr > 0, "must be > 0"),
            ("optimizer", "momentum", 0 <= opt.momentum < 1, "must be within [0, 1)"),
            ("optimizer", "weight_decay", opt.weight_decay >= 0, "must be >= 0"),
            ("optimizer", "backbone_lr_mult", opt.backbone_lr_mult >= 0, "must be >= 0"),
            ("optimizer", "language_lr_mult", opt.language_lr_mult > 0, "must be > 0"),
            ("optimizer", "grad_clip", opt.grad_clip is None or opt.grad_clip > 0, "must be > 0 (or null)"),
        ]
    for section, key, ok, rule in rules:
        if not ok:
            value = getattr(opt if section == "optimizer" else sched, key)
            raise train.get(section, {}).get(key).error(f"{rule}, got {value}")


def check_pairs_size(cfg: PairsConfig, node: Node) -> None:
    """`pairs_per_epoch` is an epoch's length: bounded here (PairsConfig lives with the data code)."""
    if cfg.pairs_per_epoch < 1:
        raise node.get("pairs_per_epoch").error(f"must be >= 1, got {cfg.pairs_per_epoch}")
    where = node.get("pairs_per_epoch")
    PAIRS_PER_EPOCH.check(cfg.pairs_per_epoch, file=node.doc.file, line=node.doc.line(where.path),
                          path=where.path_str)


def absolute_sources(pairs: PairsConfig, source: str | Path | None) -> PairsConfig:
    """Resolve source roots here, on the driver: Ray workers run in other working directories."""
    sources = tuple(dataclasses.replace(src, root=str(resolve_path(src.root, source))) for src in pairs.sources)
    return dataclasses.replace(pairs, sources=sources)


def absolute_language(language: LanguageConfig, source: str | Path | None) -> LanguageConfig:
    """The embedding cache as an absolute folder (the default one too): workers write it, not only the driver.

    A model given as a local folder becomes absolute too; an alias or a hub id stays a name.
    """
    model = language.model
    if not model.startswith("~") and resolve_path(model, source).is_dir():
        model = str(resolve_path(model, source))
    elif model.startswith((".", "~")):
        model = str(resolve_path(model, source))
    return dataclasses.replace(language, model=model,
                               cache_dir=resolve_str(language.cache_dir, source) if language.cache_dir else None)


def load_train_spec(path: str | Path, *, require_space: bool = True) -> TrainSpec:
    doc = load_yaml(path)
    spec = parse_train_spec(doc.root, require_space=require_space, source=Path(path).absolute())
    return dataclasses.replace(spec, file=str(path))


def fit_pairs(pairs: PairsConfig, template: int, search: int, file: str = "") -> PairsConfig:
    """Crops must match the space's inputs; the space decides, a conflicting pairs setting is an error."""
    defaults = PairsConfig(sources=pairs.sources)
    for key, want in (("template_size", template), ("search_size", search)):
        have = getattr(pairs, key)
        if have != getattr(defaults, key) and have != want:
            raise ConfigError(f"pairs.{key} is {have} but the space's input is {want}", file=file)
    return dataclasses.replace(pairs, template_size=template, search_size=search)
