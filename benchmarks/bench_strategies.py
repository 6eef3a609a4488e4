"""Search-strategy benchmarks: (a) overhead per ask/tell, (b) sample efficiency.

(a) times `ask(1)` and `tell` separately for every registered strategy on a
    large space (default: the paper's VLT-SCAR space, 48 free blocks of 4 ops),
    over `--overhead-trials` trials each, with a free objective.
(b) for each of `--seeds` seeds: the target is the best score among 1000
    uniformly random architectures (drawn with a separate RNG); each strategy
    then runs with `--in-flight` trials in flight, told in random order, and we
    record how many evaluations it needs to reach the target (capped at
    `--budget`; `None` if never).

The objective is pluggable: ``--objective pkg.module:factory`` where
``factory(space, seed)`` returns ``objective(arch) -> TrialResult``. The default
`SyntheticObjective` is a stand-in for supernet SUC: per-block op scores, a few
pairwise interactions and deterministic per-architecture noise. Rerun with an
evaluator-backed factory on the tiny supernet for real figures.

    python benchmarks/bench_strategies.py --json runs/bench/strategies.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import optuna

from nasvl.search import STRATEGIES, Strategy, TrialResult, build_strategy
from nasvl.space import Architecture, SearchSpace, load_space

ROOT = Path(__file__).resolve().parents[1]
Objective = Callable[[Architecture], TrialResult]


class SyntheticObjective:
    """Additive op scores + sparse pairwise interactions + per-architecture noise, scaled to ~[0, 1]."""

    def __init__(self, space: SearchSpace, seed: int = 0, noise: float = 0.01, pairs: int = 8) -> None:
        rng = random.Random(f"synthetic-{seed}")
        self.blocks = space.free_blocks
        self.score = {b.path: {op: rng.random() for op in b.options} for b in self.blocks}
        self.pairs = []
        for _ in range(pairs):
            a, b = rng.sample(list(self.blocks), 2)
            self.pairs.append((a.path, rng.choice(a.options), b.path, rng.choice(b.options), rng.random()))
        self.noise, self.seed = noise, seed
        self.scale = len(self.blocks) + sum(p[4] for p in self.pairs)

    def __call__(self, arch: Architecture) -> TrialResult:
        value = sum(self.score[p][arch[p]] for p in self.score)
        value += sum(w for pa, oa, pb, ob, w in self.pairs if arch[pa] == oa and arch[pb] == ob)
        value += random.Random(f"{self.seed}-{arch.key}").gauss(0.0, self.noise * self.scale)
        return TrialResult(suc=value / self.scale, wall_s=0.0)


def load_objective(spec: str | None) -> Callable[[SearchSpace, int], Objective]:
    if not spec:
        return SyntheticObjective
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _options(name: str, budget: int, tmp: Path | None) -> dict[str, Any]:
    if name == "random":
        return {"budget": budget}
    if name == "optuna":
        return {"budget": budget} if tmp else {"budget": budget, "storage": "memory"}
    if name == "spos_evolution":
        return {}  # SPOS defaults: 50 x 20 generations = 1000 evaluations
    return {}


# ---- (a) overhead ----------------------------------------------------------------------------
def overhead(space: SearchSpace, name: str, trials: int, run_dir: Path | None, **options: Any) -> dict[str, Any]:
    s: Strategy = build_strategy(name, space, 0, run_dir=run_dir, **options)
    asks, tells = [], []
    rng = random.Random(0)
    for _ in range(trials):
        t0 = time.perf_counter()
        props = s.ask(1)
        t1 = time.perf_counter()
        if not props:
            break
        result = TrialResult(suc=rng.random())
        t2 = time.perf_counter()
        s.tell(props[0].trial_id, result)
        t3 = time.perf_counter()
        asks.append(t1 - t0)
        tells.append(t3 - t2)
    t0 = time.perf_counter()
    state = json.dumps(s.state_dict())
    save_s = time.perf_counter() - t0
    return {
        "strategy": name, "options": options, "trials": len(asks),
        "ask_ms_mean": 1e3 * statistics.fmean(asks), "ask_ms_median": 1e3 * statistics.median(asks),
        "ask_ms_last50": 1e3 * statistics.fmean(asks[-50:]),
        "tell_ms_mean": 1e3 * statistics.fmean(tells), "tell_ms_median": 1e3 * statistics.median(tells),
        "state_dict_ms": 1e3 * save_s, "state_bytes": len(state),
    }


# ---- (b) sample efficiency -------------------------------------------------------------------
def evaluations_to_target(s: Strategy, objective: Objective, target: float, budget: int, in_flight: int,
                          seed: int) -> int | None:
    rng = random.Random(seed)
    flight: list = []
    told = 0
    while told < budget and not s.done:
        flight += s.ask(in_flight - len(flight))
        if not flight:
            break
        p = flight.pop(rng.randrange(len(flight)))
        result = objective(p.arch)
        s.tell(p.trial_id, result)
        told += 1
        if result.ok and result.suc >= target:
            return told
    return None


Variant = tuple[str, dict[str, Any]]  # (registered strategy name, options)


def default_variants(names: list[str], budget: int) -> dict[str, Variant]:
    return {name: (name, _options(name, budget, None)) for name in names}


def median_ci(values: list[int], resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the median over seeds (seeds are the resampled unit)."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def efficiency(space: SearchSpace, factory: Callable[[SearchSpace, int], Objective], variants: dict[str, Variant],
               seeds: int, budget: int, in_flight: int) -> dict[str, Any]:
    """Per labelled variant: evaluations to the best-of-1000-random score, per seed (unreached counts budget+1)."""
    out: dict[str, Any] = {"targets": [], "variants": {k: {"strategy": n, "options": o} for k, (n, o) in
                                                       variants.items()}, "runs": {k: [] for k in variants}}
    for seed in range(seeds):
        objective = factory(space, seed)
        rng = random.Random(10_000 + seed)
        target = max(objective(space.sample(rng)).suc for _ in range(1000))
        out["targets"].append(target)
        for label, (name, options) in variants.items():
            t0 = time.perf_counter()
            s = build_strategy(name, space, seed, **options)
            n = evaluations_to_target(s, objective, target, budget, in_flight, seed)
            out["runs"][label].append({"seed": seed, "evaluations": n, "wall_s": time.perf_counter() - t0})
    for label, runs in out["runs"].items():
        values = [r["evaluations"] for r in runs]
        counted = [v if v is not None else budget + 1 for v in values]
        reached = [v for v in values if v is not None]
        low, high = median_ci(counted)
        out.setdefault("summary", {})[label] = {
            "reached": f"{len(reached)}/{len(values)}",
            "median": statistics.median(counted), "median_ci95": [low, high],
            "mean_of_reached": statistics.fmean(reached) if reached else None,
            "values": values,
        }
    return out


def print_summary(summary: dict[str, Any]) -> None:
    for label, s in summary.items():
        low, high = s["median_ci95"]
        print(f"  {label:36s} reached {s['reached']:>7s}  median {s['median']:6.1f} [{low:g}, {high:g}]", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--overhead-space", default=str(ROOT / "search_spaces/vlt_scar.yaml"))
    ap.add_argument("--space", default=str(ROOT / "search_spaces/tiny.yaml"), help="space for (b)")
    ap.add_argument("--overhead-trials", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--in-flight", type=int, default=4, help="trials evaluated concurrently (workers)")
    ap.add_argument("--objective", default=None, help="pkg.module:factory(space, seed) -> objective")
    ap.add_argument("--strategies", nargs="*", default=None)
    ap.add_argument("--skip-overhead", action="store_true")
    ap.add_argument("--skip-efficiency", action="store_true")
    ap.add_argument("--json", default=str(ROOT / "runs/bench/strategies.json"))
    args = ap.parse_args(argv)
    # Through optuna's own switch: it sets its logger to INFO when first imported, after any setLevel here.
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # one INFO line per study otherwise
    names = args.strategies or STRATEGIES.names()
    report: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "command": " ".join(["python benchmarks/bench_strategies.py", *(sys.argv[1:] if argv is None else argv)]),
    }
    if not args.skip_overhead:
        import tempfile

        space = load_space(args.overhead_space)
        print(f"(a) overhead on {space.name} ({len(space.free_blocks)} free blocks), "
              f"{args.overhead_trials} trials each")
        rows = []
        for name in names:
            variants = [(None, _options(name, 10**6, None))]
            if name == "optuna":  # the default (SQLite in the run dir) and in-memory
                variants = [(Path(tempfile.mkdtemp()), {"budget": 10**6}), (None, {"budget": 10**6,
                                                                                    "storage": "memory"})]
            for run_dir, opts in variants:
                row = overhead(space, name, args.overhead_trials, run_dir, **opts)
                row["storage"] = "sqlite" if run_dir else ("memory" if name == "optuna" else "-")
                rows.append(row)
                print(f"  {name:15s} {row['storage']:7s} ask {row['ask_ms_mean']:9.3f} ms "
                      f"(last 50: {row['ask_ms_last50']:.3f})  tell {row['tell_ms_mean']:8.3f} ms  "
                      f"state_dict {row['state_dict_ms']:.1f} ms / {row['state_bytes'] / 1024:.0f} KiB", flush=True)
        report["overhead"] = rows
    if not args.skip_efficiency:
        space = load_space(args.space)
        print(f"(b) evaluations to reach the best-of-1000-random score on {space.name} "
              f"({len(space.free_blocks)} free blocks), {args.seeds} seeds, budget {args.budget}, "
              f"{args.in_flight} in flight")
        report["efficiency"] = efficiency(space, load_objective(args.objective),
                                          default_variants(names, args.budget), args.seeds, args.budget,
                                          args.in_flight)
        print_summary(report["efficiency"]["summary"])
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
