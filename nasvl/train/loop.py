"""One training loop for both phases (paper Algorithm 1, lines 3–18 and 19–27).

Supernet phase: each step samples one path Γ(A) — keyed by (seed, step), so all
data-parallel ranks train the same path without talking — and updates only it.
Retrain phase: the same loop on a fixed exported subnet.

Data is addressed by a global pair index (step, rank, slot in batch), and every
pair is generated from its own seed, so resuming at step k replays exactly what
an uninterrupted run would have seen; no DataLoader state is checkpointed.

Multi-worker: gradients are all-reduced by hand instead of wrapping the model in
DDP. Every rank runs the same path, so the set of parameters with gradients is
identical everywhere; DDP would otherwise need `find_unused_parameters` (a graph
walk per step) because most supernet parameters are unused on any one path.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler

from nasvl.config.yamldoc import load_json_text
from nasvl.data.pairs import PairDataset
from nasvl.data.pairs.mixing import build_pair_dataset
from nasvl.errors import NasvlError
from nasvl.space import Architecture
from nasvl.supernet import LanguageInput, Network, Supernet, build_supernet, path_modules
from nasvl.supernet.mixer import ModaMixer
from nasvl.train.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from nasvl.train.config import ADAMW_DEFAULT, OptimizerConfig, TrainSpec
from nasvl.train.logging import TrainLogger
from nasvl.train.recipe import StepRecipe
from nasvl.train.sampling import ArchSampler
from nasvl.train.schedule import lr_factor


class TrainingDiverged(NasvlError):
    """The loss became NaN/inf; the message names the step and the last good checkpoint."""


@dataclass(frozen=True)
class Rank:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


class GlobalPairs(Dataset):
    """Index g -> pair (epoch g // n, item g % n) of a PairDataset; never repeats across epochs."""

    def __init__(self, base: PairDataset) -> None:
        self.base = base

    def __len__(self) -> int:
        return 2**62

    def __getitem__(self, g: int) -> dict[str, Any]:
        n = len(self.base)
        self.base.set_epoch(g // n)
        return self.base[g % n]


class StepBatches(Sampler[list[int]]):
    """Batch `step` of rank r holds global indices ((step·world + r)·B ... +B)."""

    def __init__(self, start: int, stop: int, batch: int, rank: Rank) -> None:
        self.start, self.stop, self.batch, self.rank = start, stop, batch, rank

    def __len__(self) -> int:
        return self.stop - self.start

    def __iter__(self) -> Iterator[list[int]]:
        for step in range(self.start, self.stop):
            base = (step * self.rank.world + self.rank.rank) * self.batch
            yield list(range(base, base + self.batch))


def language_input(batch: dict[str, Any], device: torch.device) -> LanguageInput | None:
    if "lang" not in batch:
        return None
    use_template = torch.tensor([m == "template" for m in batch["lang_mode"]], dtype=torch.bool)
    return LanguageInput(batch["lang"].to(device), batch["has_text"].to(device), use_template.to(device),
                         batch["template_box"].to(device))


def language_parameters(net: Network) -> list[torch.nn.Parameter]:
    """The mixers' language projections (Linear d→C or the official token_map), the text-facing weights."""
    out = []
    for mixer in net.modules():
        if isinstance(mixer, ModaMixer):
            proj = mixer.token_map if hasattr(mixer, "token_map") else mixer.linear
            out += [p for p in proj.parameters() if p.requires_grad]
    return out


def param_groups(net: Network, cfg: OptimizerConfig) -> list[dict[str, Any]]:
    """Backbone (stems, layers) at lr × backbone_lr_mult; mixers, embedders and head at lr; with
    `language_lr_mult` != 1 the language projections form their own group at lr × language_lr_mult.
    The head group stays last (the logged lr)."""
    backbone = [p for p in list(net.stems.parameters()) + list(net.layers.parameters()) if p.requires_grad]
    language = language_parameters(net) if cfg.language_lr_mult != 1.0 else []
    ids = {id(p) for p in backbone + language}
    rest = [p for p in net.parameters() if id(p) not in ids and p.requires_grad]
    groups = [{"params": backbone, "lr": cfg.lr * cfg.backbone_lr_mult, "name": "backbone"}]
    if language:
        groups.append({"params": language, "lr": cfg.lr * cfg.language_lr_mult, "name": "language"})
    return [*groups, {"params": rest, "lr": cfg.lr, "name": "head"}]


def build_optimizer(net: Network, cfg: OptimizerConfig) -> torch.optim.Optimizer:
    groups = param_groups(net, cfg)
    if cfg.name == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def default_optimizer(net: Network) -> OptimizerConfig:
    kind = getattr(net.plugin, "default_optimizer", "sgd")
    return ADAMW_DEFAULT if kind == "adamw" else OptimizerConfig()


def path_parameters(net: Network, archs: Sequence[Architecture]) -> list[torch.nn.Parameter]:
    """Parameters of every module on the paths of `archs`, in a fixed order (the same on every rank)."""
    seen: set[int] = set()
    out = []
    for arch in archs:
        for _, module in path_modules(net, arch):
            for p in module.parameters(recurse=False):
                if p.requires_grad and id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
    return out


def allreduce_gradients(net: Network, archs: Sequence[Architecture], rank: Rank) -> None:
    """Average gradients over ranks. The reduced set depends only on the path, not on the data:
    a module such as the template-embedding fallback runs only on ranks whose batch needs it, so
    a rank without a gradient contributes zeros."""
    if rank.world == 1:
        return
    params = path_parameters(net, archs)
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params])
    dist.all_reduce(flat)
    flat /= rank.world
    offset = 0
    for p in params:
        chunk = flat[offset:offset + p.numel()].view_as(p)
        offset += p.numel()
        if p.grad is not None:
            p.grad.copy_(chunk)
        elif bool(chunk.any()):  # used on another rank only
            p.grad = chunk.clone()


class Trainer:
    """Owns the network, optimizer, schedule, data and checkpoints of one run directory."""

    def __init__(self, spec: TrainSpec, net: Network, out_dir: str | Path, *, phase: str,
                 embeddings: dict[str, torch.Tensor] | None = None, rank: Rank = Rank(),
                 fixed_arch: Architecture | None = None) -> None:
        cfg = spec.train
        self.spec, self.cfg, self.phase, self.rank = spec, cfg, phase, rank
        self.out = Path(out_dir)
        self.ckpt_dir = self.out / "checkpoints"
        self.device = torch.device(cfg.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        self.net = net.to(self.device)
        if net.plugin is None:
            raise NasvlError(f"space {net.space.name!r} has no tracker: nothing to train (add a tracker: section)")
        self.fixed_arch = fixed_arch
        if fixed_arch is not None and (cfg.sandwich or cfg.distill or cfg.shared_warmup):
            raise NasvlError(f"{spec.file}: train.sandwich, train.distill and train.shared_warmup train a "
                             f"supernet; a {phase} run trains one fixed architecture (remove them)")
        self.sampler = ArchSampler(net.space, seed=cfg.seed, mode=cfg.sampling, sandwich=cfg.sandwich)
        self.recipe = StepRecipe(self.net, cfg.distill, cfg.shared_warmup)
        opt_cfg = cfg.optimizer or default_optimizer(net)
        self.grad_clip = opt_cfg.grad_clip
        self.optimizer = build_optimizer(self.net, opt_cfg)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_factor(cfg.schedule, cfg.steps))
        self.dataset = build_pair_dataset(spec.pairs, embeddings=embeddings)
        norm = self.net.language_norm
        if norm is not None and not bool(norm.fitted) and embeddings:
            # Fitted once, on the training vocabulary; a retrain inherits the supernet's statistics.
            norm.fit(torch.stack([embeddings[t].reshape(-1) for t in sorted(embeddings)]))
        self.step = 0
        self.last_checkpoint: Path | None = None
        self.scaler = torch.amp.GradScaler("cuda") if cfg.amp == "fp16" else None

    # ---- state ----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        space = self.net.space
        return {
            "phase": self.phase, "space_name": space.name, "space_hash": space.hash, "space": json.dumps(space.raw),
            "arch": self.fixed_arch.to_json() if self.fixed_arch is not None else None,
            "affine_bn": bool(self.net.affine),
            "model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "rng": rng_state(), "sampler": {"seed": self.sampler.seed},
        }

    def save(self) -> Path | None:
        if not self.rank.main:
            return None
        self.last_checkpoint = save_checkpoint(self.ckpt_dir, self.step, self.state(), self.cfg.keep_checkpoints)
        return self.last_checkpoint

    def restore(self, path: str | Path) -> None:
        ckpt = load_checkpoint(path, expect_space_hash=self.net.space.hash)
        if ckpt["phase"] != self.phase:
            raise NasvlError(f"{path}: a {ckpt['phase']} checkpoint cannot resume a {self.phase} run")
        self.net.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        set_rng_state(ckpt["rng"])
        self.step = int(ckpt["step"])
        self.last_checkpoint = Path(path)

    def resume_latest(self) -> bool:
        path = latest_checkpoint(self.ckpt_dir)
        if path is None:
            return False
        self.restore(path)
        return True

    # ---- loop -----------------------------------------------------------------------------
    def paths_at(self, step: int) -> list[Architecture]:
        return [self.fixed_arch] if self.fixed_arch is not None else self.sampler.paths(step)

    def loader(self) -> DataLoader:
        return DataLoader(GlobalPairs(self.dataset), num_workers=self.cfg.num_workers,
                          batch_sampler=StepBatches(self.step, self.cfg.steps, self.cfg.batch_size, self.rank),
                          worker_init_fn=PairDataset.worker_init_fn if self.cfg.num_workers else None,
                          persistent_workers=False)

    def train_step(self, batch: dict[str, Any]) -> dict[str, float]:
        archs = self.paths_at(self.step)
        template = batch["template"].to(self.device, non_blocking=True)
        search = batch["search"].to(self.device, non_blocking=True)
        lang = language_input(batch, self.device) if self.net.space.mixer is not None else None
        targets = {k: (v.to(self.device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
        self.net.train()
        amp = self.cfg.amp != "none"
        dtype = torch.bfloat16 if self.cfg.amp == "bf16" else torch.float16

        def forward(arch: Architecture) -> dict[str, torch.Tensor]:
            with torch.autocast(self.device.type, dtype=dtype, enabled=amp):
                outputs = self.net.track_forward(template, search, arch, lang)
            return {k: v.float() for k, v in outputs.items()}

        def backward(total: torch.Tensor) -> None:
            if not torch.isfinite(total):
                where = self.last_checkpoint or "none written yet"
                raise TrainingDiverged(f"loss is {total.item()} at step {self.step}; last good checkpoint: {where}")
            (self.scaler.scale(total) if self.scaler is not None else total).backward()

        self.optimizer.zero_grad(set_to_none=True)  # None grads keep off-path params out of decay/momentum
        losses = self.recipe.run(archs, forward, lambda out: self.net.plugin.loss(out, targets), backward)  # type: ignore[union-attr]
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        allreduce_gradients(self.net, archs, self.rank)
        self.recipe.mask_gradients(self.step)
        if self.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for p in self.net.parameters() if p.grad is not None], self.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        return losses

    def run(self, report=None, stop_at: int | None = None) -> dict[str, Any]:  # noqa: ANN001
        """Train until `steps` (or `stop_at`, then checkpoint); `report(metrics, path)` after each checkpoint."""
        stop = min(stop_at or self.cfg.steps, self.cfg.steps)
        logger = TrainLogger(self.out, self.cfg.steps, self.cfg.batch_size * self.rank.world,
                             enabled=self.rank.main, start_step=self.step)
        last: dict[str, float] = {}
        history: list[float] = []
        try:
            started = time.perf_counter()
            for batch in self.loader():
                last = self.train_step(batch)
                history.append(last["total"])
                self.step += 1
                logger.log(self.step, last, self.optimizer.param_groups[-1]["lr"])
                if self.step % self.cfg.checkpoint_every == 0 or self.step in (self.cfg.steps, stop):
                    path = self.save()
                    if report is not None:
                        report({"step": self.step, **last}, path)
                if self.step >= stop:
                    break
            elapsed = time.perf_counter() - started
        finally:
            logger.close()
        if self.last_checkpoint is None or not self.last_checkpoint.name.endswith(f"{self.step:08d}.pt"):
            self.save()  # e.g. resumed at the final step: still leave a checkpoint of it
        return {"step": self.step, "last": last, "history": history, "seconds": elapsed,
                "checkpoint": str(self.last_checkpoint) if self.last_checkpoint else None,
                "mean_first": _mean(history[:20]), "mean_last": _mean(history[-20:])}


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else math.nan


def supernet_from_checkpoint(path: str | Path) -> tuple[Supernet, dict[str, Any]]:
    """Rebuild the trained supernet from a checkpoint alone (the space is embedded)."""
    from nasvl.space import parse_space_dict

    ckpt = load_checkpoint(path)
    if ckpt["phase"] != "supernet":
        raise NasvlError(f"{path}: a {ckpt['phase']} checkpoint is not a supernet")
    space = parse_space_dict(load_json_text(ckpt["space"], f"{path}#space"), file=f"{path}#space")
    if space.hash != ckpt["space_hash"]:
        raise NasvlError(f"{path}: embedded space hash {space.hash} != recorded {ckpt['space_hash']}")
    net = build_supernet(space)
    net.load_state_dict(ckpt["model"])
    return net.eval(), ckpt
