"""Data benchmark: synthetic-benchmark generation time and training-pair throughput.

    python benchmarks/bench_data.py [--out runs/bench/bench_data.json] [--pairs 2000] [--workers 2]

1. `nasvl.data.synth.generate` at the default size (80/20/20 videos, 60–120 frames,
   320×240, 200 COCO-style images), timed wall-clock;
2. pair sampling from that output (train split + COCO images mixed 50/50, 127/255 crops,
   default augmentation, 20% negatives): pairs/s in the main process, and through a
   torch DataLoader with `--workers` worker processes (batch 32).

Prints the figures and writes them as JSON (atomically). Besides wall-clock rates it
reports CPU seconds (this process plus its finished worker processes) and the load
average, because on a shared machine other jobs skew wall-clock numbers; pairs per
CPU-second is the contention-free figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from nasvl.data import load_dataset
from nasvl.data.pairs import PairDataset, PairSource
from nasvl.data.synth import SynthConfig, generate
from nasvl.io import atomic_write_json


def _cpu_seconds() -> float:
    """CPU time of this process and of its children that have exited (pool/loader workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _pairs_per_second(ds: PairDataset, n: int, workers: int, batch: int = 32) -> tuple[float, float]:
    """(pairs per wall second, pairs per CPU second)."""
    if workers == 0:
        start, cpu = time.perf_counter(), _cpu_seconds()
        for i in range(n):
            ds[i]
        return n / (time.perf_counter() - start), n / (_cpu_seconds() - cpu)
    loader = DataLoader(ds, batch_size=batch, num_workers=workers, worker_init_fn=PairDataset.worker_init_fn,
                        persistent_workers=False)
    cpu = _cpu_seconds()
    it = iter(loader)
    first = len(next(it)["text"])  # worker start-up is paid once per epoch: keep it out of the wall rate
    start, seen = time.perf_counter(), 0
    for b in it:
        seen += len(b["text"])
    wall = seen / (time.perf_counter() - start)
    del it  # joins the workers so their CPU time is counted
    return wall, (seen + first) / (_cpu_seconds() - cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/bench_data.json"))
    parser.add_argument("--data", type=Path, default=None, help="generate here (default: a temporary folder)")
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp) / "synth"
        start, cpu = time.perf_counter(), _cpu_seconds()
        generate(root, seed=args.seed, workers=args.workers, overwrite=True)
        gen_s, gen_cpu = time.perf_counter() - start, _cpu_seconds() - cpu
        frames = sum(1 for _ in root.glob("*/*/*/img/*.jpg"))
        size_mb = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20
        print(f"synthetic benchmark (default {SynthConfig()}):")
        print(f"  generated {frames} frames, {size_mb:.0f} MiB in {gen_s:.1f} s wall with {args.workers} "
              f"workers ({gen_cpu:.1f} CPU-s, load average {os.getloadavg()[0]:.1f})")

        train = load_dataset(root / "train", "lasot", strict=False)
        coco = load_dataset(root / "coco", "coco", strict=False)
        ds = PairDataset([PairSource(train, share=0.5, lang_mode="template", name="synth"),
                          PairSource(coco, share=0.5, lang_mode="zeros", name="coco")],
                         seed=args.seed, pairs_per_epoch=args.pairs)
        single, single_cpu = _pairs_per_second(ds, min(args.pairs, 500), 0)
        multi, multi_cpu = _pairs_per_second(ds, args.pairs, args.workers)
        print(f"pair sampling 127/255 with augmentation: {single:.0f} pairs/s in-process "
              f"({single_cpu:.0f} per CPU-s); {multi:.0f} pairs/s with DataLoader(num_workers={args.workers}, "
              f"batch_size=32) ({multi_cpu:.0f} per CPU-s incl. workers and collation)")

    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} CPUs, {platform.python_version()}",
        "load_average_at_end": os.getloadavg(),
        "synth": {"seconds": round(gen_s, 2), "cpu_seconds": round(gen_cpu, 2), "frames": frames, "mib": round(size_mb, 1), "workers": args.workers,
                  "videos": {"train": 80, "val": 20, "test": 20}, "coco_images": SynthConfig().coco_images},
        "pairs": {"in_process_per_s": round(single, 1), "in_process_per_cpu_s": round(single_cpu, 1),
                  "dataloader_per_s": round(multi, 1), "dataloader_per_cpu_s": round(multi_cpu, 1),
                  "dataloader_workers": args.workers, "template": 127, "search": 255, "pairs": args.pairs},
    }
    atomic_write_json(args.out, report)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
