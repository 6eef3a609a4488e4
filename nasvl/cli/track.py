"""`nasvl track`: run an exported tracker over a folder of frames and write one x,y,w,h line per frame."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from nasvl.errors import ConfigError


def parse_box(text: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        values = []
    # `not w > 0` also refuses NaN, which compares false with everything.
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or not (values[2] > 0 and values[3] > 0):
        raise ConfigError(f"--init must be x,y,w,h: four finite numbers with positive w and h, got {text[:80]!r}")
    return values[0], values[1], values[2], values[3]


def check_box_in_frame(box: tuple[float, float, float, float], width: int, height: int, frame: Path) -> None:
    """The first box must overlap the first frame and be at most twice its size: else it is a typo
    (a 1e9 box would make the tracker crop and resize gigapixel windows)."""
    x, y, w, h = box
    if x >= width or y >= height or x + w <= 0 or y + h <= 0 or w > 2 * width or h > 2 * height:
        raise ConfigError(f"--init box {x:g},{y:g},{w:g},{h:g} does not fit the first frame {frame} "
                          f"({width}×{height}): it must overlap the frame and be at most twice its size")


def frame_paths(video: Path) -> list[Path]:
    """Frames of `video`, or of its `img/`/`imgs/` sub-folder (LaSOT/TNL2K layouts)."""
    from nasvl.data.textio import list_frames

    folder = next((video / d for d in ("img", "imgs") if (video / d).is_dir()), video)
    frames = list_frames(folder)
    if not frames:
        raise ConfigError(f"{folder}: no image frames found")
    return frames


def _track(args: argparse.Namespace) -> int:
    # Heavy imports here so `nasvl --help` stays fast.
    import torch
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from nasvl.data.frames import probe_frame, read_frame
    from nasvl.data.textio import check_description
    from nasvl.export import load_subnet
    from nasvl.io import atomic_write_text
    from nasvl.tracking.tracker import build_tracker

    out = Path(args.out)
    if out.exists() and not args.force:
        raise ConfigError(f"{out} exists; pass --force to overwrite it")
    box = parse_box(args.init)
    if args.text is not None:
        check_description(args.text, what="--text")
    frames = frame_paths(Path(args.video))
    for path in frames[1:]:  # headers only: a bad frame fails now, not minutes into the video
        probe_frame(path)
    first = read_frame(frames[0])
    check_box_in_frame(box, first.shape[1], first.shape[0], frames[0])
    if args.threads:
        torch.set_num_threads(args.threads)
    subnet = load_subnet(args.model, device=args.device)
    embed_text = None
    if args.text and args.text.strip():
        from nasvl.language import EmbeddingCache, embedding_cache

        cache = (EmbeddingCache(None, args.language_model, device=args.device) if args.no_embed_cache
                 else embedding_cache(args.embed_cache, args.language_model, device=args.device))
        embed_text = cache.get
    tracker = build_tracker(subnet, args.params, embed_text=embed_text, device=args.device,
                            language_fallback=args.language_fallback, benchmark=args.benchmark,
                            runtime=args.runtime, model_dir=args.model)

    lines = [",".join(f"{v:.2f}" for v in box)]
    console = Console(stderr=True)
    columns = (TextColumn("[bold]tracking"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[fps]} fps"),
               TimeRemainingColumn())
    start = time.perf_counter()
    with Progress(*columns, console=console, disable=args.quiet) as progress:
        task = progress.add_task("track", total=len(frames), fps="-")
        tracker.initialize(first, box, text=args.text)
        progress.advance(task)
        for i, path in enumerate(frames[1:], 1):
            xywh, _ = tracker.track(read_frame(path))
            lines.append(",".join(f"{v:.2f}" for v in xywh))
            progress.update(task, advance=1, fps=f"{i / (time.perf_counter() - start):.1f}")
    atomic_write_text(out, "\n".join(lines) + "\n")
    elapsed = time.perf_counter() - start
    if not args.quiet:
        console.print(f"{len(frames)} frames in {elapsed:.1f} s ({len(frames) / elapsed:.1f} fps) → {out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("track", help="track one video with an exported tracker")
    p.add_argument("--model", required=True, help="export directory (nasvl.export.save_subnet)")
    p.add_argument("--video", required=True, help="folder of frames (or with an img/ sub-folder)")
    p.add_argument("--init", required=True, help="first-frame box x,y,w,h in pixels")
    p.add_argument("--text", default=None, help="natural-language description of the target")
    p.add_argument("--out", required=True, help="output file: one x,y,w,h line per frame")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    p.add_argument("--benchmark", default=None, help="hyper-parameter set of the tracker's params file "
                   "(default: the file's default, lasot)")
    p.add_argument("--params", default=None, help="hyper-parameter YAML (default: trackers/params/<tracker>.yaml)")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0 (default: cpu)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--runtime", default="torch",
                   help="torch: BN-folded inference form (default); torch-plain: as trained; onnx / onnx-int8: "
                        "the graphs `nasvl export-onnx` wrote (onnxruntime, CPU)")
    p.add_argument("--language-fallback", choices=("zeros", "template"), default="zeros",
                   help="language without --text: the paper's zeros, or the template embedding")
    p.add_argument("--language-model", default="minilm", help="language encoder (default: minilm)")
    p.add_argument("--embed-cache", type=Path, default=None, help="embedding cache directory")
    p.add_argument("--no-embed-cache", action="store_true", help="keep embeddings in memory only")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_track)
