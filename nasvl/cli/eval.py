"""`nasvl eval`: score tracking results (pysot/LaSOT layout) on a benchmark, or track it with exported
trackers first (`--export`, which adds the language-sensitivity report); print tables with 95 %
bootstrap intervals, write JSON and PNG plots.

    nasvl eval --dataset D --format lasot --results RESULTS            # score existing results
    nasvl eval --dataset D --format lasot --export runs/q/retrain/export --export base=runs/q/baseline/export \
        --out evals/q                                                  # track, then score
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nasvl.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="evaluate trackers: SUC with CIs, P, P_norm, AO/SR, language "
                              "sensitivity, plots")
    p.add_argument("--dataset", required=True, type=Path, help="benchmark root folder")
    from nasvl.data import format_names

    p.add_argument("--format", required=True, choices=format_names(),
                   help="the benchmark's layout: every registered format, built-in and plugin (nasvl.formats)")
    p.add_argument("--split", default=None, help="e.g. test (LaSOT official list, OTB99-LANG queries)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--results", type=Path, help="folder with <tracker>/<video>.txt")
    source.add_argument("--export", action="append", metavar="[NAME=]DIR",
                        help="an exported tracker to track the dataset with (repeatable; unnamed ones are "
                        "called nasvl, nasvl-2, ...); VL trackers are also tracked in each --language-modes mode")
    p.add_argument("--trackers", default=None, help="comma-separated tracker names (default: all found)")
    p.add_argument("--reference", default=None,
                   help="tracker the others are compared with (paired differences; default: the first)")
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
    g = p.add_argument_group("with --export")
    g.add_argument("--out", type=Path, default=None,
                   help="folder for results/, report.json and plots/ (required with --export)")
    g.add_argument("--force", action="store_true", help="reuse an --out folder that already holds a report")
    g.add_argument("--benchmark", default=None, help="tracker hyper-parameter set (default: the file's default)")
    g.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    g.add_argument("--runtime", choices=("torch", "torch-plain", "onnx", "onnx-int8"), default="torch",
                   help="how the exports run (default torch, BN folded); ONNX graphs are written next to each "
                   "export on first use and leave the template mode out")
    g.add_argument("--max-videos", type=int, default=None, help="track only the first N videos")
    g.add_argument("--language-fallback", choices=("zeros", "template"), default="zeros",
                   help="language for videos without a description in the correct-description run")
    g.add_argument("--language-modes", default="correct,none,deranged,template",
                   help="comma-separated language modes for the sensitivity report ('' for none)")
    g.add_argument("--language-model", default="minilm", help="language encoder (default: minilm)")
    g.add_argument("--embed-cache", type=Path, default=None, help="embedding cache directory")
    g.add_argument("--no-first-box", action="store_true", help="leave out the first-box reference tracker")
    p.set_defaults(handler=_eval)


def _named_exports(values: list[str]) -> dict[str, str]:
    from nasvl.config.names import check_name, is_plain_name

    out: dict[str, str] = {}
    unnamed = 0
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not is_plain_name(name) or not path:
            unnamed += 1
            name, path = ("nasvl" if unnamed == 1 else f"nasvl-{unnamed}"), value
        check_name(name, what="--export name")
        if name in out:
            raise ConfigError(f"--export: two trackers are called {name!r}; give them names (NAME=DIR)")
        out[name] = path
    return out


def _modes(text: str) -> tuple[str, ...]:
    from nasvl.metrics.sensitivity import LANGUAGE_MODES

    modes = tuple(m.strip() for m in text.split(",") if m.strip())
    unknown = [m for m in modes if m not in LANGUAGE_MODES]
    if unknown:
        raise ConfigError(f"--language-modes: unknown {', '.join(map(ascii, unknown))} "
                          f"(known: {', '.join(LANGUAGE_MODES)})")
    return modes


def _track_exports(args: argparse.Namespace, title: str) -> tuple[dict, Path]:
    from nasvl.config.limits import JOB_VIDEOS
    from nasvl.io import writable_folder
    from nasvl.jobs.evaluate import evaluate_exports
    from nasvl.jobs.spec import EvalDataset
    from nasvl.train.config import LanguageConfig

    if args.out is None:
        raise ConfigError("--export needs --out: the folder for the results, report.json and plots")
    if (args.out / "report.json").exists() and not args.force:
        raise ConfigError(f"{args.out / 'report.json'} exists; pass --force to track and report again")
    if args.max_videos is not None:
        if args.max_videos < 1:
            raise ConfigError(f"--max-videos must be >= 1, got {args.max_videos}")
        JOB_VIDEOS.check(args.max_videos, path="--max-videos")
    exports = _named_exports(args.export)
    modes = _modes(args.language_modes)
    writable_folder(args.out, "--out folder")
    ds = EvalDataset(name=args.dataset.name, root=str(args.dataset), format=args.format, split=args.split,
                     benchmark=args.benchmark, protocol=args.protocol, max_videos=args.max_videos)
    language = LanguageConfig(model=args.language_model, cache_dir=str(args.embed_cache) if args.embed_cache else None)
    evaluation = evaluate_exports(exports, ds, args.out, job_file=None, language=language, device=args.device,
                                  language_fallback=args.language_fallback, first_box=not args.no_first_box,
                                  language_modes=modes, reference=args.reference, runtime=args.runtime)  # type: ignore[arg-type]
    return evaluation, args.out / "plots"


def _eval(args: argparse.Namespace) -> int:
    from rich.console import Console

    from nasvl.config.names import check_name
    from nasvl.data import load_dataset
    from nasvl.jobs.evaluate import print_evaluation
    from nasvl.metrics import evaluate_dataset
    from nasvl.metrics.plots import plot_attributes, plot_curves
    from nasvl.metrics.protocols import default_protocol
    from nasvl.metrics.report import write_json
    from nasvl.metrics.sensitivity import tracker_differences

    title = f"{args.format} {args.dataset.name}" + (f" ({args.split})" if args.split else "")
    protocol = args.protocol or default_protocol(args.format)
    if args.export:
        evaluation, default_plots = _track_exports(args, title)
        n_videos = evaluation["n_videos"]
    else:
        videos = load_dataset(args.dataset, args.format, args.split, strict=True)
        trackers = [t.strip() for t in args.trackers.split(",") if t.strip()] if args.trackers else None
        for name in trackers or ():
            check_name(name, what="--trackers entry")  # a folder name under --results, never a path
        report = evaluate_dataset(videos, args.results, trackers, missing=args.missing, protocol=protocol)
        if args.reference is not None and args.reference not in report:
            raise ConfigError(f"--reference {args.reference!r} is none of the trackers ({', '.join(report)})")
        evaluation = {"protocol": protocol, "n_videos": len(videos), "trackers": report,
                      "differences": tracker_differences(report, videos, args.reference) if len(report) > 1 else {}}
        default_plots = args.results.resolve().parent / "plots"
        n_videos = len(videos)
    print_evaluation(evaluation, title=f"{title}: {n_videos} videos", console=Console(width=160))
    plots = args.plots or default_plots
    written = plot_curves(evaluation["trackers"], plots, title=title)
    attr = plot_attributes(evaluation["trackers"], plots / "attributes.png", title=title)
    written += [attr] if attr else []
    print("plots: " + ", ".join(str(p) for p in written))
    if args.json or args.export:
        path = args.json or args.out / "report.json"
        write_json({"dataset": str(args.dataset), "format": args.format, "split": args.split, **evaluation}, path)
        print(f"report: {path}")
    return 0
