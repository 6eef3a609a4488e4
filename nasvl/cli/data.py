"""`nasvl data ...`: generate the synthetic benchmark, check a dataset, look at training
pairs, write a trivial baseline's results. Heavy imports stay inside the handlers so
`nasvl --help` stays fast."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="datasets: synthetic benchmark, checks, pair previews")
    sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    synth = sub.add_parser("synth", help="generate the embedded synthetic VL benchmark (LaSOT layout)")
    synth.add_argument("--out", required=True, type=Path, help="output folder")
    synth.add_argument("--videos", type=int, default=None, help="total videos, split 4:1:1 (default 80/20/20)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--frames", default=None, metavar="MIN-MAX", help="frames per video (default 60-120)")
    synth.add_argument("--coco-images", type=int, default=None, help="vision-only images (default 200)")
    synth.add_argument("--workers", type=int, default=None, help="processes (default: up to 2)")
    synth.add_argument("--force", action="store_true", help="replace existing splits")
    synth.set_defaults(handler=_synth)

    check = sub.add_parser("check", help="read a dataset strictly and summarise it")
    _dataset_args(check)
    check.add_argument("--lenient", action="store_true", help="skip bad videos with a warning instead of failing")
    check.add_argument("--fast", action="store_true",
                       help="check annotations and frame lists only; do not decode the frames")
    check.set_defaults(handler=_check)

    pairs = sub.add_parser("pairs-debug", help="write a grid PNG of sampled training pairs with boxes")
    _dataset_args(pairs)
    pairs.add_argument("--out", type=Path, default=Path("pairs.png"))
    pairs.add_argument("-n", "--num", type=int, default=16)
    pairs.add_argument("--seed", type=int, default=0)
    pairs.add_argument("--template-size", type=int, default=127)
    pairs.add_argument("--search-size", type=int, default=255)
    pairs.add_argument("--negative-rate", type=float, default=0.2)
    pairs.add_argument("--lang-mode", choices=("zeros", "template"), default="zeros")
    pairs.set_defaults(handler=_pairs_debug)

    base = sub.add_parser("baseline", help="write results of a trivial tracker (the first box repeated)")
    _dataset_args(base)
    base.add_argument("--results", required=True, type=Path, help="results folder (<results>/<tracker>/)")
    base.add_argument("--tracker", default="first_box")
    base.set_defaults(handler=_baseline)


def _dataset_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", required=True, type=Path, help="dataset root folder")
    p.add_argument("--format", required=True, help="lasot, tnl2k, otb99lang, got10k, coco or folder")
    p.add_argument("--split", default=None)


def _synth(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from nasvl.data.synth import SynthConfig, generate
    from nasvl.errors import DataError

    cfg = SynthConfig()
    if args.frames:
        try:
            lo, hi = (int(v) for v in args.frames.split("-"))
        except ValueError:
            raise DataError(f"--frames expects MIN-MAX, e.g. 60-120, got {args.frames!r}") from None
        cfg = replace(cfg, min_frames=lo, max_frames=hi)
    if args.coco_images is not None:
        cfg = replace(cfg, coco_images=args.coco_images)
    start = time.perf_counter()
    out = generate(args.out, videos=args.videos, seed=args.seed, config=cfg, workers=args.workers,
                   overwrite=args.force)
    print(f"synthetic benchmark written to {out} in {time.perf_counter() - start:.1f}s (manifest.json has checksums)")
    return 0


def _check(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from nasvl.data import load_dataset
    from nasvl.data.verify import verify_frames

    videos = load_dataset(args.dataset, args.format, args.split, strict=not args.lenient)
    if not args.fast:
        videos = verify_frames(videos, decode=True, strict=not args.lenient)
    frames = sum(len(v) for v in videos)
    table = Table(title=f"{args.format} dataset {args.dataset}")
    for col in ("videos", "frames", "absent frames", "with description"):
        table.add_column(col, justify="right")
    table.add_row(str(len(videos)), str(frames), str(sum(int(v.absent.sum()) for v in videos)),
                  str(sum(1 for v in videos if v.description)))
    Console().print(table)
    if args.fast:
        print(f"--fast: annotations and frame lists checked; {frames} frames were NOT decoded "
              f"(run without --fast to decode every frame)")
    else:
        print(f"all {frames} frames decoded")
    return 0


def _pairs_debug(args: argparse.Namespace) -> int:
    from nasvl.data import load_dataset
    from nasvl.data.pairs import PairDataset
    from nasvl.data.pairs.debug import write_pair_grid
    from nasvl.data.verify import verify_frames

    # Read leniently as training does, but refuse bad frames rather than draw them as grey boxes.
    videos = verify_frames(load_dataset(args.dataset, args.format, args.split, strict=False), decode=False)
    ds = PairDataset(videos, seed=args.seed, template_size=args.template_size, search_size=args.search_size,
                     negative_rate=args.negative_rate, lang_mode=args.lang_mode, pairs_per_epoch=max(args.num, 1))
    print(f"wrote {write_pair_grid(ds, args.out, n=args.num)}")
    return 0


def _baseline(args: argparse.Namespace) -> int:
    import numpy as np

    from nasvl.data import load_dataset
    from nasvl.metrics import write_results

    videos = load_dataset(args.dataset, args.format, args.split)
    for v in videos:
        write_results(args.results, args.tracker, v.name, np.repeat(v.boxes[:1], len(v), axis=0))
    print(f"wrote {len(videos)} result files to {args.results / args.tracker}")
    return 0
