"""Multi-fidelity replay on a finished search: frames spent vs. finding the same best architecture.

The search in RUN_DIR already scored its architectures on the full validation set. This script scores
the same architectures once on a cheap rung (the real evaluator, in-process: same supernet, same
recalibration batches, fewer videos/frames), then replays, for each seed, a search that visits them in
a random order under the rung rule of `nasvl.search.rungs` (`promoted`, as `StrategySearcher` applies
it with one worker). It reports per seed the evaluation frames spent relative to full evaluation of
every architecture, and whether the best architecture found is the full-evaluation best (and the SUC gap).

    PYTHONPATH=. python benchmarks/bench_multifidelity.py runs/quickstart/search \\
        --rung-videos 3 --rung-frames 20 --promote 0.25 --seeds 5 --json runs/bench/multifidelity.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import random
import statistics
import time
from pathlib import Path

from nasvl.search.export import spec_from_meta
from nasvl.search.records import load_records
from nasvl.search.run import prepare
from nasvl.search.rungs import Rung, promoted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--rung-videos", type=int, default=3)
    ap.add_argument("--rung-frames", type=int, default=20)
    ap.add_argument("--promote", type=float, default=0.25)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    records = load_records(args.run_dir)
    spec = spec_from_meta(records.meta)
    setup, space = prepare(spec, records.meta["supernet"], Path(args.run_dir))
    rung = Rung(max_videos=args.rung_videos, max_frames=args.rung_frames, promote=args.promote)
    cheap_setup = dataclasses.replace(setup, rungs=(rung,))
    cheap, full = cheap_setup.build(0), cheap_setup.build(1)
    cheap_frames = sum(len(v) for v in cheap.videos)
    full_frames = sum(len(v) for v in full.videos)
    pool = [(r.nasvl_trial, r.result.suc, space.arch(r.arch)) for r in records.completed]  # type: ignore[union-attr]
    started = time.perf_counter()
    cheap_scores = {}
    for trial, _, arch in pool:
        result = cheap.evaluate(arch)
        cheap_scores[trial] = result.suc if result.ok else float("nan")
    cheap_s = time.perf_counter() - started
    full_scores = {trial: suc for trial, suc, _ in pool}
    best_trial = max(full_scores, key=full_scores.get)  # type: ignore[arg-type]
    runs = []
    for seed in range(args.seeds):
        order = list(full_scores)
        random.Random(seed).shuffle(order)
        seen: list[float] = []
        climbed = []
        for trial in order:
            seen.append(cheap_scores[trial])
            if promoted(cheap_scores[trial], seen, args.promote):
                climbed.append(trial)
        found = max(climbed, key=full_scores.get)  # type: ignore[arg-type]
        frames = cheap_frames * len(order) + full_frames * len(climbed)
        runs.append({"seed": seed, "promoted": len(climbed), "frames_fraction": frames / (full_frames * len(order)),
                     "found_best": found == best_trial, "suc_gap": full_scores[best_trial] - full_scores[found]})
    out = {
        "run_dir": str(Path(args.run_dir).resolve()), "architectures": len(pool), "rung": dataclasses.asdict(rung),
        "frames_per_eval": {"rung0": cheap_frames, "full": full_frames}, "rung0_eval_seconds": cheap_s,
        "mean_frames_fraction": statistics.mean(r["frames_fraction"] for r in runs),
        "found_best": sum(r["found_best"] for r in runs), "mean_suc_gap": statistics.mean(r["suc_gap"] for r in runs),
        "runs": runs, "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
