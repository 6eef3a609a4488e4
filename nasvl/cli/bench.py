"""`nasvl bench …`: micro-benchmarks. `bench tracker` times exported trackers per frame on CPU."""

from __future__ import annotations

import argparse
from pathlib import Path


def _default_spaces() -> Path:
    # The repo's search_spaces/ (editable install); an installed wheel ships them under share/nasvl.
    here = Path(__file__).resolve().parents[2] / "search_spaces"
    return here


def _tracker(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from nasvl.io import atomic_write_json
    from nasvl.tracking.bench import bench_trackers

    console = Console(stderr=True)
    report = bench_trackers(args.spaces, frames=args.frames, warmup=args.warmup, threads=args.threads,
                            device=args.device, progress=console.print)
    rate = report["matmul"]["gflops"]
    table = Table(title=f"per-frame tracking latency ({report['device']}, {report['threads']} threads); "
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
    if args.json:
        atomic_write_json(args.json, report)
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
    t.add_argument("--frames", type=int, default=40, help="timed frames per model (default 40)")
    t.add_argument("--warmup", type=int, default=5, help="untimed frames first (default 5)")
    t.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    t.add_argument("--device", default="cpu")
    t.add_argument("--spaces", type=Path, default=_default_spaces(), help="folder with the space YAMLs")
    t.set_defaults(handler=_tracker)
    s = sub.add_parser("supernet", help="supernet training step vs the same architecture extracted (ratio)")
    s.add_argument("spaces_yaml", nargs="*", type=Path, default=[_default_spaces() / "tiny.yaml"])
    s.add_argument("--batch", type=int, default=4)
    s.add_argument("--archs", type=int, default=3)
    s.add_argument("--repeats", type=int, default=5)
    s.add_argument("--json", type=Path, default=Path("runs/bench/supernet_step.json"))
    s.set_defaults(handler=_supernet)
