"""`nasvl eval`: score tracking results (pysot/LaSOT layout) on a benchmark; print a
table, write JSON and PNG plots."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="evaluate tracking results: SUC, P, P_norm, AO/SR, plots")
    p.add_argument("--dataset", required=True, type=Path, help="benchmark root folder")
    p.add_argument("--format", required=True, choices=("lasot", "tnl2k", "otb99lang", "got10k"))
    p.add_argument("--split", default=None, help="e.g. test (LaSOT official list, OTB99-LANG queries)")
    p.add_argument("--results", required=True, type=Path, help="folder with <tracker>/<video>.txt")
    p.add_argument("--trackers", default=None, help="comma-separated tracker names (default: all found)")
    p.add_argument("--json", type=Path, default=None, help="write the full report here")
    p.add_argument("--plots", type=Path, default=None,
                   help="folder for PNG plots (default: plots/ next to the results folder)")
    p.add_argument("--protocol", choices=("got10k", "pysot", "pytracking"), default=None,
                   help="scoring toolkit whose definitions to follow (absent frames, centres, thresholds, "
                   "averaging); default: the one the benchmark's papers report (lasot, tnl2k, otb99lang: "
                   "pysot; got10k: got10k)")
    p.add_argument("--missing", choices=("error", "miss"), default="error",
                   help="a video without results or with fewer boxes than frames: fail (default), "
                   "or score the missing frames as misses")
    p.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace) -> int:
    from nasvl.config.names import check_name
    from nasvl.data import load_dataset
    from nasvl.metrics import evaluate_dataset
    from nasvl.metrics.plots import plot_attributes, plot_curves
    from nasvl.metrics.protocols import default_protocol
    from nasvl.metrics.report import print_table, write_json

    videos = load_dataset(args.dataset, args.format, args.split, strict=True)
    trackers = [t.strip() for t in args.trackers.split(",") if t.strip()] if args.trackers else None
    for name in trackers or ():
        check_name(name, what="--trackers entry")  # a folder name under --results, never a path
    protocol = args.protocol or default_protocol(args.format)
    report = evaluate_dataset(videos, args.results, trackers, missing=args.missing, protocol=protocol)
    title = f"{args.format} {args.dataset.name}" + (f" ({args.split})" if args.split else "")
    print_table(report, title=f"{title}: {len(videos)} videos")
    plots = args.plots or args.results.resolve().parent / "plots"
    written = plot_curves(report, plots, title=title)
    attr = plot_attributes(report, plots / "attributes.png", title=title)
    written += [attr] if attr else []
    print("plots: " + ", ".join(str(p) for p in written))
    if args.json:
        write_json({"dataset": str(args.dataset), "format": args.format, "split": args.split,
                    "protocol": protocol, "n_videos": len(videos), "trackers": report}, args.json)
        print(f"report: {args.json}")
    return 0
