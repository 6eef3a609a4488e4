"""Training benchmarks (issue 5): supernet throughput, and 1 vs 2 Ray Train workers.

    python benchmarks/bench_training.py --synth runs/quickstart/data/synth [--json runs/bench/training.json]

* throughput: pairs/s of supernet training on the synthetic benchmark for the tiny and the
  paper VLT-SCAR space (CPU, batch 8, in-process), from the trainer's own JSONL log;
* workers: the same tiny run with 1 and with 2 Ray Train workers (gloo), global batch fixed.
The step-time overhead against a fixed subnet is `python -m nasvl.bench.supernet` (or
`nasvl bench supernet`).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch

from nasvl.config import load_yaml_text
from nasvl.io import atomic_write_json
from nasvl.train import parse_train_spec, run_training

ROOT = Path(__file__).resolve().parents[1]


def spec(synth: Path, space: str, steps: int, batch: int, threads: int) -> object:
    text = f"""\
name: bench
space: {ROOT / space}
pairs:
  sources: [{{root: {synth / 'train'}, format: lasot, lang_mode: template}}]
  pairs_per_epoch: 5000
train: {{steps: {steps}, batch_size: {batch}, threads: {threads}, checkpoint_every: {steps}}}
"""
    return parse_train_spec(load_yaml_text(text, "bench.yaml").root)


def throughput(synth: Path, space: str, steps: int, batch: int, threads: int, workers: int = 1,
               ray_train: bool = False) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        # address="local" puts even 1 worker on Ray Train, so 1 vs 2 compares like with like.
        run_training(spec(synth.resolve(), space, steps, batch // workers, threads), Path(tmp), phase="supernet",
                     workers=workers, address="local" if ray_train else None)
        wall = time.perf_counter() - start
        rows = [] if ray_train else [json.loads(x) for x in (Path(tmp) / "log.jsonl").read_text().splitlines()]
    if rows:
        warm = rows[min(5, len(rows) - 2):]
        return (warm[-1]["step"] - warm[0]["step"]) * batch / (warm[-1]["time"] - warm[0]["time"])
    return steps * batch / wall  # Ray: the whole run, start-up included


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synth", type=Path, required=True, help="a synthetic benchmark folder (nasvl data synth)")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--json", default="runs/bench/training.json")
    args = parser.parse_args()
    report: dict = {"machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
                    "batch": args.batch, "steps": args.steps}
    for name, space in (("tiny", "search_spaces/tiny.yaml"), ("vlt_scar", "search_spaces/vlt_scar.yaml")):
        steps = args.steps if name == "tiny" else max(8, args.steps // 4)
        report[f"supernet_pairs_per_s_{name}"] = throughput(args.synth, space, steps, args.batch, args.threads)
        print(f"supernet training, {name} space: {report[f'supernet_pairs_per_s_{name}']:.1f} pairs/s "
              f"(batch {args.batch}, {args.threads} threads)")
    if not args.skip_ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        for workers in (1, 2):
            key = f"ray_train_{workers}_workers_pairs_per_s"
            report[key] = throughput(args.synth, "search_spaces/tiny.yaml", args.steps, args.batch, 1, workers,
                                     ray_train=True)
            print(f"Ray Train, tiny space, {workers} worker(s), global batch {args.batch}: "
                  f"{report[key]:.1f} pairs/s (whole run incl. start-up)")
        ray.shutdown()
    atomic_write_json(args.json, report)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
