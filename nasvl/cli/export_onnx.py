"""`nasvl export-onnx EXPORT_DIR`: write an export's ONNX graphs (and, with --int8, the int8 search graph)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _export_onnx(args: argparse.Namespace) -> int:
    from rich.console import Console

    from nasvl.config.limits import CALIBRATION_FEEDS
    from nasvl.deploy.ort import export_onnx, onnx_dir
    from nasvl.errors import ConfigError
    from nasvl.tracking.calibration import calibration_feeds

    console = Console(stderr=True)
    if args.calibration_videos < 1:
        raise ConfigError(f"--calibration-videos must be at least 1, got {args.calibration_videos}")
    CALIBRATION_FEEDS.check(args.calibration_videos, path="--calibration-videos")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    out = export_onnx(args.export)  # fp32 graphs first: the int8 calibration tracks with them
    if args.int8:
        embed_text = None
        if not args.no_text:
            from nasvl.export import load_subnet
            from nasvl.language import EmbeddingCache, default_cache_dir

            if load_subnet(args.export).space.mixer is not None:
                embed_text = EmbeddingCache(default_cache_dir(), args.language_model).get
        if not args.quiet:
            source = args.calibration or "synthetic training videos (embedded benchmark generator)"
            console.print(f"calibrating int8 on {source}")
        feeds = calibration_feeds(args.export, data=args.calibration, videos=args.calibration_videos,
                                  embed_text=embed_text)
        out = export_onnx(args.export, int8=True, calibration=feeds)
    if not args.quiet:
        names = sorted(p.name for p in onnx_dir(args.export).iterdir() if p.suffix in (".onnx", ".json"))
        console.print(f"wrote {', '.join(names)} → {out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export-onnx", help="write an exported tracker's ONNX graphs (template, per-frame)")
    p.add_argument("export", type=Path, help="export directory (nasvl.export.save_subnet)")
    p.add_argument("--int8", action="store_true", help="also write the statically quantised per-frame graph")
    p.add_argument("--calibration", type=Path, default=None,
                   help="int8 calibration videos: a LaSOT-layout training split (default: synthetic training "
                        "videos drawn with the embedded benchmark's generator)")
    p.add_argument("--calibration-videos", type=int, default=6, help="videos to calibrate on (default 6)")
    p.add_argument("--no-text", action="store_true", help="calibrate without descriptions (zeros language)")
    p.add_argument("--language-model", default="minilm", help="language encoder for calibration descriptions")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=_export_onnx)
