"""`nasvl search CONFIG --supernet CKPT`, `nasvl search report RUN_DIR`, `nasvl export RUN_DIR`."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rich.console import Console
from rich.table import Table

from nasvl.errors import ConfigError


def _search(args: argparse.Namespace) -> int:
    if args.target == "report":
        if not args.run_dir:
            raise ConfigError("usage: nasvl search report RUN_DIR")
        return _report(Path(args.run_dir))
    if args.target == "fidelity":
        return _fidelity(args)
    if not args.supernet:
        raise ConfigError("nasvl search CONFIG.yaml needs --supernet CHECKPOINT (from nasvl train-supernet)")
    from nasvl.search.config import load_search_spec, with_strategy
    from nasvl.search.run import run_search

    spec = load_search_spec(args.target)
    search = spec.search
    if args.strategy:
        search, note = with_strategy(search, args.strategy)
        if note:
            Console().print(note)
    if args.workers:
        search = dataclasses.replace(search, trials_in_parallel=args.workers)
    spec = dataclasses.replace(spec, search=search)
    out = Path(args.out) if args.out else Path("runs") / spec.name / "search"
    summary = run_search(spec, args.supernet, out, address=args.address, resume=args.resume)
    Console().print(f"[bold]search done[/bold]: {summary['completed']} completed, {summary['failed']} failed, "
                    f"{summary['retries']} retries, {summary['reruns_after_kill']} re-runs after kills; "
                    f"best SUC {summary['best']['suc'] if summary['best'] else '-'}; records in {out}")
    return 0


def _report(run_dir: Path) -> int:
    from nasvl.search.costs import search_cost
    from nasvl.search.plots import plot_search
    from nasvl.search.records import load_records

    records = load_records(run_dir)
    table = Table(title=f"leaderboard — {run_dir}")
    for col in ("rank", "trial", "SUC", "P", "PNorm", "params", "MACs", "latency ms"):
        table.add_column(col, justify="right")
    for i, r in enumerate(records.best(10), start=1):
        res = r.result
        table.add_row(str(i), str(r.nasvl_trial), f"{res.suc:.4f}", f"{res.prec:.4f}", f"{res.norm_prec:.4f}",
                      f"{res.params:,}", f"{res.macs:,}", f"{res.latency_ms:.1f}")
    console = Console()
    console.print(table)
    s = records.summary()
    stopped = f", {s['stopped_early']} stopped at a cheap rung" if s["stopped_early"] else ""
    console.print(f"{s['trials']} trials: {s['completed']} completed, {s['failed']} failed{stopped}, "
                  f"{s['retries']} retries, {s['reruns_after_kill']} re-runs after kills")
    cost = search_cost(records)
    if cost["evaluations"]:
        spent = Table(title=f"search cost — {cost['evaluations']} evaluations, {cost['eval_frames']:,} frames")
        for col in ("rung", "evaluations", "frames", "wall s (summed)"):
            spent.add_column(col, justify="right")
        for r in cost["rungs"]:
            spent.add_row(str(r["rung"]), str(r["evaluations"]), f"{r['frames']:,}", f"{r['wall_s']:.1f}")
        console.print(spent)
        growth = " → ".join(f"{g['best_suc']:.4f}@{g['frames']:,}" for g in cost["best_vs_frames"][-8:])
        console.print(f"best SUC as frames were spent: {growth or '-'}")
    else:
        console.print("search cost: not recorded (a search from before nasvl recorded its evaluations)")
    for path in plot_search(records, run_dir / "plots"):
        console.print(f"plot: {path}")
    return 0


def _fidelity(args: argparse.Namespace) -> int:
    from nasvl.search.fidelity import run_fidelity

    if not args.run_dir or args.k is None or args.train_steps is None:
        raise ConfigError("usage: nasvl search fidelity RUN_DIR --k K --train-steps N [--from scratch|inherited]")
    s = run_fidelity(args.run_dir, k=args.k, train_steps=args.train_steps, init=args.init, out=args.out,
                     address=args.address, workers=args.workers)

    def show(est: dict | None) -> str:
        if not est or est["value"] is None:
            return "-"
        ci = f" (95% CI {est['low']:.3f} .. {est['high']:.3f})" if est["low"] is not None else ""
        return f"{est['value']:.3f}{ci}"

    Console().print(f"[bold]ranking fidelity[/bold] over {s['evaluated']} architectures ({s['failed']} failed): "
                    f"Kendall τ {show(s['kendall_tau'])}, Spearman ρ {show(s['spearman_rho'])}; plot {s['plot']}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from nasvl.search.export import export_records

    paths = export_records(args.run_dir, args.out, top=args.top, pareto=args.pareto)
    for p in paths:
        Console().print(f"exported {p}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("search", help="search a trained supernet on Ray Tune (or: search report|fidelity "
                                             "RUN_DIR)")
    p.add_argument("target", help="search config YAML, or 'report', or 'fidelity'")
    p.add_argument("run_dir", nargs="?", help="with 'report' / 'fidelity': the search run folder")
    p.add_argument("--k", type=int, default=None, help="fidelity: architectures to train stand-alone")
    p.add_argument("--train-steps", type=int, default=None, help="fidelity: training steps per architecture")
    p.add_argument("--from", dest="init", choices=("scratch", "inherited"), default="scratch",
                   help="fidelity: train from a fresh init or from the supernet's weights")
    p.add_argument("--supernet", help="supernet checkpoint from nasvl train-supernet")
    p.add_argument("--strategy", help="override the config's strategy (with the options the config gives for it: "
                   "search.options for its own strategy, search.strategy_options.X for another)")
    p.add_argument("--workers", type=int, default=None, help="trials evaluated in parallel")
    p.add_argument("--address", default=None, help="Ray cluster address (auto or HOST:PORT); default local")
    p.add_argument("--resume", action="store_true", help="continue a killed search from its search_state.json")
    p.add_argument("--out", default=None, help="run folder (default runs/<name>/search; fidelity: RUN_DIR/fidelity)")
    p.set_defaults(handler=_search)
    e = subparsers.add_parser("export", help="export the best searched architecture(s) with inherited weights")
    e.add_argument("run_dir")
    group = e.add_mutually_exclusive_group()
    group.add_argument("--top", type=int, default=1)
    group.add_argument("--pareto", action="store_true", help="the Pareto set over the search's objectives (SUC vs latency for a SUC-only search)")
    e.add_argument("--out", required=True)
    e.set_defaults(handler=_export)
