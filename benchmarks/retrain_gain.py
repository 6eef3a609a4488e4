"""Does retraining improve the exported subnet? Validation SUC before (inherited supernet
weights, BN recalibrated at export) and after `retrain`, on the same videos.

    python benchmarks/retrain_gain.py runs/quickstart [--split val] [--json runs/bench/retrain_gain.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from nasvl.io import atomic_write_json
from nasvl.jobs.spec import EvalDataset
from nasvl.jobs.steps import evaluate_exports
from nasvl.train.config import LanguageConfig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished job folder (runs/<job>)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--json", default="runs/bench/retrain_gain.json")
    args = parser.parse_args()
    run = args.run_dir
    exports = {"inherited": json.loads((run / "export" / "DONE.json").read_text())["outputs"]["exports"][0],
               "retrained": json.loads((run / "retrain" / "DONE.json").read_text())["outputs"]["export"]}
    data = json.loads((run / "data" / "DONE.json").read_text())["outputs"]["synth"]
    ds = EvalDataset(name=args.split, root=str(Path(data) / args.split), format="lasot", benchmark="synth")
    with tempfile.TemporaryDirectory() as tmp:
        report = evaluate_exports(exports, ds, Path(tmp), job_file=str(run), language=LanguageConfig())
    rows = {k: {m: report[k]["overall"][m] for m in ("suc", "prec", "norm_prec")} for k in exports}
    for k, v in rows.items():
        print(f"{k:>10}: SUC {100 * v['suc']:.1f}  P {100 * v['prec']:.1f}  PNorm {100 * v['norm_prec']:.1f}")
    gain = rows["retrained"]["suc"] - rows["inherited"]["suc"]
    print(f"retraining changed {args.split} SUC by {100 * gain:+.1f} points")
    atomic_write_json(args.json, {"split": args.split, **rows, "suc_gain": gain})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
