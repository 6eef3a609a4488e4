"""`nasvl bench …`: micro-benchmarks. `bench tracker` times exported trackers per frame on CPU;
`bench latency` measures the latency table's error per deployment runtime."""

from __future__ import annotations

import argparse
from pathlib import Path

from nasvl.deploy.runtimes import RUNTIMES


def _default_spaces() -> Path:
    # The repo's search_spaces/ (editable install); an installed wheel ships them under share/nasvl.
    here = Path(__file__).resolve().parents[2] / "search_spaces"
    return here


def _tracker(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from nasvl.bench.trackers import bench_trackers
    from nasvl.io import atomic_write_json

    console = Console(stderr=True)
    report = bench_trackers(args.spaces, frames=args.frames, warmup=args.warmup, threads=args.threads,
                            device=args.device, progress=console.print, block=args.block)
    rate = report["matmul"]["gflops"]
    table = Table(title=f"per-frame tracking latency ({report['device']}, {report['threads']} threads, turns of "
                        f"{report['block']} frames); "
                        f"floor = per-frame GFLOP / {rate:.1f} GFLOP/s (fp32 {report['matmul']['n']}³ torch.mm)")
    for col in ("model", "params", "GFLOP/frame", "floor ms", "min ms", "median ms", "p90 ms", "fps",
                "× floor", "× vlt_scar"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in report["results"]:
        table.add_row(r["model"], f"{r['params'] / 1e6:.2f}M", f"{r['per_frame_gflop']:.2f}", f"{r['floor_ms']:.1f}",
                      f"{r['min_ms']:.1f}", f"{r['median_ms']:.1f}", f"{r['p90_ms']:.1f}", f"{r['fps']:.1f}",
                      f"{r['x_floor']:.1f}", f"{r['slowdown_vs_vlt_scar']:.2f}")
    Console(width=150).print(table)
    first = report["results"][0]
    Console(width=150).print(
        f"{first['model']}: {first['median_ms']:.1f} ms/frame median ({first['fps']:.1f} fps), compute floor "
        f"{first['floor_ms']:.1f} ms ({first['per_frame_gflop']:.2f} GFLOP at {rate:.1f} GFLOP/s): "
        f"{first['x_floor']:.1f}× the floor by median, {first['x_floor_min']:.1f}× by min")
    Console(width=130).print(
        f"VLT-SCAR vs ResNet-50 SiamCAR: {report['speedup_vlt_scar_vs_resnet50']:.2f}× faster by median, "
        f"{report['speedup_vlt_scar_vs_resnet50_min']:.2f}× by min (goal ≥ 2×); vs the same-backbone SiamCAR: "
        f"{report['speedup_vlt_scar_vs_siamcar_same_backbone']:.2f}× / "
        f"{report['speedup_vlt_scar_vs_siamcar_same_backbone_min']:.2f}× (the ModaMixers' cost)")
    if args.runtimes:
        report["runtimes"] = _runtimes(args, console)
    if args.json:
        atomic_write_json(args.json, report)
    return 0


def _runtimes(args: argparse.Namespace, console: object) -> dict:
    from rich.console import Console
    from rich.table import Table

    from nasvl.bench.runtimes import bench_runtimes

    rep = bench_runtimes(args.spaces, frames=args.frames, warmup=args.warmup, block=args.block, model=args.model,
                         suc_data=args.suc_data, suc_videos=args.suc_videos, progress=console.print)  # type: ignore[attr-defined]
    table = Table(title=f"{rep['model']} per runtime ({rep['threads']} threads, turns of "
                        f"{rep['block']} frames); floor "
                        f"{rep['floor_ms']:.1f} ms = {rep['per_frame_gflop']:.2f} GFLOP / {rep['matmul_gflops']:.1f} GFLOP/s")
    for col in ("runtime", "min ms", "median ms", "p90 ms", "fps", "× floor"):
        table.add_column(col, justify="left" if col == "runtime" else "right")
    for r in rep["results"]:
        table.add_row(r["label"], f"{r['min_ms']:.1f}", f"{r['median_ms']:.1f}", f"{r['p90_ms']:.1f}",
                      f"{r['fps']:.1f}", f"{r['x_floor']:.2f}")
    out = Console(width=150)
    out.print(table)
    out.print(f"inference form vs plain form: {rep['inference_vs_plain']:.2f}× faster by median "
              f"({rep['inference_vs_plain_min']:.2f}× by min; goal ≥ 1.3×); int8 vs the fp32 export: "
              f"{rep['int8_vs_fp32_export']:.2f}× (goal ≥ 2×); SOTS-equivalent (plain, official geometry): "
              f"{rep['sots_equivalent_ms']:.1f} ms; channels-last vs NCHW (inference form): "
              f"{rep['channels_last_vs_nchw']:.2f}× faster")
    if rep["suc"]:
        d = rep["suc"]["int8_minus_fp32"]
        out.print(f"SUC on the test split ({rep['suc']['videos']} videos): fp32 {rep['suc']['suc_fp32']:.1f}, "
                  f"int8 {rep['suc']['suc_int8']:.1f}, change {d['diff']:+.2f} (95% CI {d['ci'][0]:+.2f} .. "
                  f"{d['ci'][1]:+.2f}; goal: loss ≤ 0.5)")
    return rep


def _latency(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from nasvl.bench.latency import bench_latency
    from nasvl.io import atomic_write_json

    console = Console(stderr=True)
    rep = bench_latency(args.space, args.runtimes, calibrate_archs=args.calibrate, archs=args.archs,
                        repeats=args.repeats, seed=args.seed, threads=args.threads or None, progress=console.print)
    table = Table(title=f"latency table vs whole-network per-frame latency: {rep['space']} ({rep['threads']} "
                        f"threads; fitted on {rep['calibrate_archs']}, tested on {rep['test_archs']} other archs)")
    for col in ("runtime", "measured ms (range)", "raw table |err| mean / max", "calibrated |err| mean / max",
                "seconds"):
        table.add_column(col, justify="left" if col == "runtime" else "right")
    for r in rep["results"]:
        ms = [row["measured_ms"] for row in r["raw"]["rows"]]
        table.add_row(r["runtime"], f"{min(ms):.1f} – {max(ms):.1f}",
                      f"{r['raw']['mean_abs_error_pct']:.1f} % / {r['raw']['max_abs_error_pct']:.1f} %",
                      f"{r['calibrated']['mean_abs_error_pct']:.1f} % / {r['calibrated']['max_abs_error_pct']:.1f} %",
                      f"{r['seconds']:.0f}")
    Console(width=150).print(table)
    if args.json:
        atomic_write_json(args.json, rep)
    return 0


def _supernet(args: argparse.Namespace) -> int:
    from nasvl.bench.supernet import main

    argv = [*map(str, args.spaces_yaml), "--batch", str(args.batch), "--archs", str(args.archs),
            "--repeats", str(args.repeats), "--json", str(args.json)]
    return main(argv)


def register(subparsers: argparse._SubParsersAction) -> None:
    bench = subparsers.add_parser("bench", help="micro-benchmarks")
    sub = bench.add_subparsers(dest="bench_command", required=True, metavar="SUBCOMMAND")
    t = sub.add_parser("tracker", help="per-frame latency and compute floor: VLT-SCAR (paper CAND) vs SiamCAR "
                       "(same backbone) vs SiamCAR ResNet-50")
    t.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    t.add_argument("--frames", type=int, default=40, help="timed frames per model and runtime (default 40, "
                   "rounded up to whole turns of --block)")
    t.add_argument("--warmup", type=int, default=5, help="untimed frames first (default 5)")
    t.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    t.add_argument("--device", default="cpu")
    t.add_argument("--spaces", type=Path, default=_default_spaces(), help="folder with the space YAMLs")
    t.add_argument("--runtimes", action="store_true", help="also time the paper CAND (or --model) under every "
                   "runtime: plain, inference form, ONNX fp32, ONNX int8 (writes the graphs, calibrates int8)")
    t.add_argument("--block", type=int, default=8, help="frames per model's (and runtime's) turn; the first of "
                   "each turn is not timed (default 8)")
    t.add_argument("--model", type=Path, default=None, help="with --runtimes: an export to time instead of the "
                   "random-weight paper CAND (its onnx/ folder is (re)written)")
    t.add_argument("--suc-data", type=Path, default=None, help="with --runtimes: embedded benchmark root; the int8 "
                   "SUC change on its test split, with a paired bootstrap CI over videos")
    t.add_argument("--suc-videos", type=int, default=None, help="test videos for the SUC change (default all)")
    t.set_defaults(handler=_tracker)
    la = sub.add_parser("latency", help="the latency lookup table's error against whole-network latency, per "
                        "deployment runtime (torch-plain, torch, onnx, onnx-int8)")
    la.add_argument("space", nargs="?", type=Path, default=_default_spaces() / "vlt_scar.yaml",
                    help="space YAML (default: the paper space, vlt_scar.yaml)")
    la.add_argument("--runtimes", nargs="+", default=list(RUNTIMES), choices=RUNTIMES,
                    help="runtimes to build a table for (default: all)")
    la.add_argument("--calibrate", type=int, default=4, help="architectures the table's constant is fitted on")
    la.add_argument("--archs", type=int, default=6, help="other architectures the error is measured on")
    la.add_argument("--repeats", type=int, default=10, help="timed runs per op and per architecture (median)")
    la.add_argument("--seed", type=int, default=0)
    la.add_argument("--threads", type=int, default=0, help="torch / onnxruntime CPU threads (default: torch's)")
    la.add_argument("--json", type=Path, default=None, help="also write the report as JSON here")
    la.set_defaults(handler=_latency)
    s = sub.add_parser("supernet", help="supernet training step vs the same architecture extracted (ratio)")
    s.add_argument("spaces_yaml", nargs="*", type=Path, default=[_default_spaces() / "tiny.yaml"])
    s.add_argument("--batch", type=int, default=4)
    s.add_argument("--archs", type=int, default=3)
    s.add_argument("--repeats", type=int, default=5)
    s.add_argument("--json", type=Path, default=Path("runs/bench/supernet_step.json"))
    s.set_defaults(handler=_supernet)
