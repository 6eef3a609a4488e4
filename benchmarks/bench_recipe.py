"""Ranking fidelity of supernet training options at equal wall time (issue 16, item 2).

Reuses a search run (its space, training pairs, validation videos and evaluator settings) and a
finished `nasvl search fidelity` folder (its architectures and their stand-alone scores, the
reference ranking). For each training option it trains a fresh supernet for the same wall time,
scores the fidelity architectures with the search's evaluator (BN recalibration + tracking), and
reports Kendall's τ with a bootstrap CI against the stand-alone scores.

    PYTHONPATH=. python benchmarks/bench_recipe.py RUN_DIR FIDELITY_DIR --seconds 120 --out OUT \
        --variants default constrained sandwich sandwich_distill shared_warmup
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "constrained": {"sampling": "constrained"},
    "sandwich": {"sandwich": {"random": 2}},
    "sandwich_distill": {"sandwich": {"random": 2}, "distill": {"weight": 1.0}},
    "shared_warmup": {"shared_warmup": {"steps": "25%"}},
}


def train_spec(search_spec: Any, space: str, steps: int, options: dict[str, Any]) -> Any:
    from nasvl.config import YamlDoc, parse_dataclass
    from nasvl.train.config import TrainConfig, TrainSpec

    options = json.loads(json.dumps(options))
    if "shared_warmup" in options:
        options["shared_warmup"]["steps"] = max(1, steps // 4)
    raw = {"steps": steps, "batch_size": 16, "threads": 1, "optimizer": {"lr": 0.02},
           "schedule": {"warmup_steps": max(1, steps // 10)}, "checkpoint_every": steps, "keep_checkpoints": 1,
           "log_every": 10, **options}
    cfg = parse_dataclass(TrainConfig, YamlDoc(raw, "bench_recipe").root)
    return TrainSpec("bench", space, search_spec.pairs, search_spec.language, cfg, search_spec.file)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("fidelity_dir")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--out", required=True)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    args = parser.parse_args()

    import torch

    from nasvl.search.export import spec_from_meta
    from nasvl.search.ranking import bootstrap, kendall_tau, spearman_rho
    from nasvl.search.records import load_records
    from nasvl.search.run import prepare
    from nasvl.space import parse_space_dict
    from nasvl.train import load_checkpoint, run_training

    torch.set_num_threads(1)
    run_dir, fid = Path(args.run_dir).resolve(), json.loads((Path(args.fidelity_dir) / "fidelity.json").read_text())
    plan = json.loads((Path(args.fidelity_dir) / "plan.json").read_text())
    records = load_records(run_dir)
    spec = spec_from_meta(records.meta)
    setup, _ = prepare(spec, records.meta["supernet"], run_dir)
    space = parse_space_dict(setup.space_raw)
    space_file = Path(args.out) / "space.json"
    space_file.parent.mkdir(parents=True, exist_ok=True)
    space_file.write_text(json.dumps(setup.space_raw))
    archs = [space.arch(item["arch"]) for item in plan["archs"]]
    standalone = [p["standalone_suc"] for p in fid["points"]]
    results = {}
    for name in args.variants:
        out = Path(args.out) / name
        # calibrate: seconds per step of this option (the loop alone), then fill the budget with steps
        calib = run_training(train_spec(spec, str(space_file), 6, VARIANTS[name]), out / "calib", phase="supernet")
        steps = max(4, int(args.seconds / (calib["seconds"] / 6)))
        summary = run_training(train_spec(spec, str(space_file), steps, VARIANTS[name]), out / "train",
                               phase="supernet")
        train_s = summary["seconds"]
        weights = load_checkpoint(summary["checkpoint"])["model"]
        evaluator = dataclasses.replace(setup, key=f"bench-{name}", weights=weights).build()
        scores = [evaluator.evaluate(a).to_dict()["suc"] for a in archs]
        tau = bootstrap(scores, standalone, kendall_tau)
        rho = bootstrap(scores, standalone, spearman_rho)
        results[name] = {"steps": steps, "train_seconds": round(train_s, 1), "supernet_suc": scores,
                         "kendall_tau": tau.to_dict(), "spearman_rho": rho.to_dict()}
        print(f"{name}: {steps} steps in {train_s:.0f}s, tau {tau.value:+.2f} [{tau.low:+.2f}, {tau.high:+.2f}], "
              f"rho {rho.value:+.2f} [{rho.low:+.2f}, {rho.high:+.2f}]", flush=True)
        (Path(args.out) / f"{name}.json").write_text(json.dumps(results[name], indent=1))


if __name__ == "__main__":
    main()
