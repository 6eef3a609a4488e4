"""Entry points for both phases, in-process or on Ray Train.

`train_supernet(spec, ...)` and `retrain(export_dir, spec, ...)` run in this
process when `workers` is 1, and otherwise through Ray Train's `TorchTrainer`
(gloo on CPU, NCCL on GPUs) on a local runtime or the cluster at `address`.
Under Ray, checkpoints are reported with `ray.train.report` to a storage path
every node can reach, and `--resume` hands the newest one back to the workers.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasvl.cluster import init_ray, raise_worker_error
from nasvl.config.limits import TRAIN_WORKERS
from nasvl.config.paths import resolve_path
from nasvl.errors import ConfigError, NasvlError
from nasvl.export import load_subnet, save_subnet
from nasvl.language import embedding_cache
from nasvl.space import load_space
from nasvl.supernet import Network, Subnet, build_supernet
from nasvl.train.config import TrainSpec, fit_pairs
from nasvl.train.loop import Rank, Trainer


def _embeddings(spec: TrainSpec, net: Network) -> dict[str, torch.Tensor] | None:
    """Embed every unique description of the training sources once (through the on-disk cache)."""
    if net.space.mixer is None:
        return None
    from nasvl.data.pairs.mixing import build_pair_dataset

    cache = embedding_cache(spec.language.cache_dir, spec.language.model)
    if cache.dim != net.space.mixer.language_dim:
        raise ConfigError(f"language model {spec.language.model!r} gives {cache.dim}-d embeddings but the space's "
                          f"mixer.language_dim is {net.space.mixer.language_dim}", file=spec.file,
                          path="language.model")
    texts = sorted({v.description for s in build_pair_dataset(spec.pairs).sources for v in s.videos
                    if v.description and v.description.strip()})
    cache.warm(texts)
    return cache.get_many(texts)


def _build(spec: TrainSpec, phase: str, export_dir: str | None) -> Network:
    if phase == "supernet":
        space = load_space(resolve_path(spec.space, spec.file))  # type: ignore[arg-type]
        if space.tracker is None:
            raise ConfigError(f"space {space.name!r} has no tracker section: a supernet for tracking needs one",
                              file=spec.file, path="space")
        net = build_supernet(space)
        if spec.train.spos_init is not None:  # the paper starts from the SPOS ImageNet supernet
            from nasvl.importers import import_spos_supernet

            import_spos_supernet(spec.train.spos_init, net)
        return net
    subnet = load_subnet(export_dir)  # type: ignore[arg-type]
    if spec.train.init == "scratch":
        subnet = Subnet(subnet.space, subnet.arch)
    if spec.train.affine_bn and not subnet.affine:
        subnet.to_affine_bn()
    return subnet.train()


def _loop(config: dict[str, Any]) -> dict[str, Any]:
    """The per-worker training function (also the in-process path with world size 1)."""
    spec: TrainSpec = config["spec"]
    rank = Rank()
    report = None
    ray_ckpt = None
    where: Any = None
    if config.get("ray"):
        import tempfile

        import ray.train

        ctx = ray.train.get_context()
        rank = Rank(ctx.get_world_rank(), ctx.get_world_size())
        ray_ckpt = ray.train.get_checkpoint()
        _record_worker(Path(config["out_dir"]), rank, resumed=ray_ckpt is not None)

        def report(metrics: dict[str, Any], path: Path | None) -> None:  # noqa: F811
            if path is None:
                ray.train.report(metrics)
                return
            with tempfile.TemporaryDirectory() as tmp:
                shutil.copy2(path, Path(tmp) / "state.pt")
                ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(tmp))

    seed_everything(spec.train.seed)  # the initial weights are part of the run's definition
    net = _build(spec, config["phase"], config.get("export_dir"))
    spec = dataclasses.replace(spec, pairs=fit_pairs(spec.pairs, net.space.input_size("template"),
                                                     net.space.input_size("search"), spec.file))
    trainer = Trainer(spec, net, config["out_dir"], phase=config["phase"],
                      embeddings=_embeddings(spec, net), rank=rank,
                      fixed_arch=net.arch if isinstance(net, Subnet) else None)
    if ray_ckpt is not None:
        with ray_ckpt.as_directory() as d:
            trainer.restore(Path(d) / "state.pt")
        where = ray_ckpt.path
    elif config.get("resume"):
        trainer.resume_latest()
        where = trainer.last_checkpoint
    if trainer.step and not config.get("ray"):  # under Ray the driver says it (workers' output stays in Ray's logs)
        print(f"resuming {config['phase']} training in {config['out_dir']}: from step {trainer.step} of "
              f"{spec.train.steps} (checkpoint {where})", flush=True)
    summary = trainer.run(report=report, stop_at=config.get("stop_at"))
    if rank.main:
        _finish(trainer, config)
    return summary


TRAIN_RESTARTS = 2  # Ray Train restarts of the worker group after a worker or node failure


def _record_worker(out_dir: Path, rank: Rank, *, resumed: bool) -> None:
    """One line per Ray Train worker start in `workers.jsonl`: which node each rank ran on (and restarts)."""
    import json
    import time

    import ray

    out_dir.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"rank": rank.rank, "world_size": rank.world, "node_ip": ray.util.get_node_ip_address(),
                       "pid": os.getpid(), "resumed": resumed, "time": time.time()})
    with open(out_dir / "workers.jsonl", "a", encoding="utf-8") as fh:  # O_APPEND: whole lines from all ranks
        fh.write(line + "\n")


def _finish(trainer: Trainer, config: dict[str, Any]) -> None:
    out = Path(config["out_dir"])
    if config["phase"] == "retrain":
        save_subnet(trainer.net, out / "export", extra={"retrained_steps": trainer.step,  # type: ignore[arg-type]
                                                        "from": config.get("export_dir")})


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_workers(workers: int, *, flag: str = "--workers") -> int:
    """A worker count from a CLI flag: at least 1 and within its limit (YAML counts go through `bounded`)."""
    if workers < 1:
        raise ConfigError(f"must be >= 1, got {workers}", path=flag)
    TRAIN_WORKERS.check(workers, path=flag)
    return workers


def local_resources() -> dict[str, float]:
    """What a local Ray runtime would offer: this machine's CPUs and visible GPUs."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return {"CPU": float(os.cpu_count() or 1), "GPU": float(gpus)}


def resource_shortfall(what: str, *, cpus: float, gpus: float, available: dict[str, float],
                       where: str = "the Ray cluster") -> str | None:
    """Why `what` (needing `cpus` CPUs and `gpus` GPUs) can never be scheduled, or None when it fits.

    Ray waits forever for resources that do not exist; this turns that wait into a message.
    """
    have_cpu, have_gpu = float(available.get("CPU", 0)), float(available.get("GPU", 0))
    if cpus <= have_cpu and gpus <= have_gpu:
        return None
    return (f"{what} needs {cpus:g} CPU(s) and {gpus:g} GPU(s), but {where} has {have_cpu:g} CPU(s) and "
            f"{have_gpu:g} GPU(s); ask for fewer or add nodes")


def require_resources(what: str, *, cpus: float, gpus: float, available: dict[str, float] | None = None) -> None:
    """Raise a NasvlError instead of waiting forever; `available` defaults to `ray.cluster_resources()`."""
    if available is None:
        import ray

        available = ray.cluster_resources()
    short = resource_shortfall(what, cpus=cpus, gpus=gpus, available=available)
    if short is not None:
        raise NasvlError(short)


def run_training(spec: TrainSpec, out_dir: str | Path, *, phase: str, export_dir: str | None = None,
                 workers: int = 1, address: str | None = None, resume: bool = False,
                 use_gpu: bool = False, stop_at: int | None = None) -> dict[str, Any]:
    """Train `phase` ('supernet' or 'retrain') into `out_dir`; `stop_at` checkpoints and stops early."""
    config = {"spec": spec, "out_dir": str(out_dir), "phase": phase, "export_dir": export_dir, "resume": resume,
              "stop_at": stop_at}
    check_workers(workers)
    if workers <= 1 and address is None:
        return _loop(config)
    return _ray_train(config, workers, address, resume, use_gpu)


def _ray_train(config: dict[str, Any], workers: int, address: str | None, resume: bool,
               use_gpu: bool) -> dict[str, Any]:
    from ray.train import Checkpoint, CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    from nasvl.cluster.train_callbacks import StopOnNasvlError

    init_ray(address)
    # Ray Train takes one CPU (and one GPU with use_gpu) per worker.
    require_resources(f"{workers} Ray Train workers", cpus=workers, gpus=workers if use_gpu else 0)
    storage = Path(config["out_dir"]).resolve() / "ray"
    name = "train"
    resume_from = None
    if resume:
        found = sorted((storage / name).glob("checkpoint_*/state.pt")) if (storage / name).is_dir() else []
        if found:
            resume_from = Checkpoint.from_directory(str(found[-1].parent))
            print(f"resuming {config['phase']} training in {config['out_dir']}: from Ray checkpoint "
                  f"{found[-1].parent}", flush=True)
    config = {**config, "ray": True, "out_dir": str(Path(config["out_dir"]).resolve())}
    trainer = TorchTrainer(
        _loop, train_loop_config=config,
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu),
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        run_config=RunConfig(name=name, storage_path=str(storage),
                             checkpoint_config=CheckpointConfig(num_to_keep=config["spec"].train.keep_checkpoints or None),
                             # 0 keeps all (Ray says None). A lost worker or node restarts the group
                             # from the newest checkpoint; a nasvl error (the user's input) does not.
                             failure_config=FailureConfig(max_failures=TRAIN_RESTARTS),
                             callbacks=[StopOnNasvlError()]),
        resume_from_checkpoint=resume_from,
    )
    try:
        result = trainer.fit()
    except Exception as exc:  # a worker's nasvl error comes back as itself, without Ray's traceback
        raise_worker_error(exc, "training")
    return {"step": result.metrics.get("step"), "last": result.metrics,
            "checkpoint": str(Path(result.checkpoint.path) / "state.pt") if result.checkpoint else None}
