"""`nasvl train-supernet` and `nasvl retrain`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from nasvl.train import load_train_spec, run_training


def _out(args: argparse.Namespace, name: str, step: str) -> Path:
    return Path(args.out) if args.out else Path("runs") / name / step


def _report(summary: dict, out: Path) -> int:
    console = Console()
    console.print(f"[bold]done[/bold]: step {summary.get('step')}, checkpoint {summary.get('checkpoint')}")
    if summary.get("mean_first") is not None:
        console.print(f"mean loss: first 20 steps {summary['mean_first']:.4f} → last 20 {summary['mean_last']:.4f}")
    console.print(f"outputs under {out}")
    return 0


def _train_supernet(args: argparse.Namespace) -> int:
    spec = load_train_spec(args.config)
    out = _out(args, spec.name, "supernet")
    summary = run_training(spec, out, phase="supernet", workers=args.workers, address=args.address,
                           resume=args.resume, use_gpu=args.gpu)
    return _report(summary, out)


def _retrain(args: argparse.Namespace) -> int:
    spec = load_train_spec(args.config, require_space=False)
    out = _out(args, spec.name, "retrain")
    summary = run_training(spec, out, phase="retrain", export_dir=args.export_dir, workers=args.workers,
                           address=args.address, resume=args.resume, use_gpu=args.gpu)
    return _report(summary, out)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="training config YAML (name, space, pairs, language, train)")
    p.add_argument("--workers", type=int, default=1, help="Ray Train workers (1: train in this process)")
    p.add_argument("--address", default=None, help="Ray cluster address (auto or HOST:PORT); default: local")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint")
    p.add_argument("--gpu", action="store_true", help="one GPU per Ray worker (NCCL)")
    p.add_argument("--out", default=None, help="output folder (default runs/<name>/<phase>)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train-supernet", help="train the weight-sharing supernet (SPOS)")
    _common(p)
    p.set_defaults(handler=_train_supernet)
    r = subparsers.add_parser("retrain", help="retrain an exported subnet")
    r.add_argument("export_dir")
    _common(r)
    r.set_defaults(handler=_retrain)
