"""`nasvl space show|validate`: inspect and check search-space files."""

from __future__ import annotations

import argparse
import json

import torch
from rich.console import Console
from rich.table import Table

from nasvl.space import SearchSpace, load_space
from nasvl.supernet import build_supernet


def supernet_params(space: SearchSpace) -> int:
    # Built on the meta device: exact shapes, no memory, no initialisation cost.
    with torch.device("meta"):
        return sum(p.numel() for p in build_supernet(space).parameters())


def describe(space: SearchSpace) -> dict:
    return {
        "name": space.name,
        "file": space.file,
        "hash": space.hash,
        "size": space.size_text,
        "free_blocks": len(space.free_blocks),
        "blocks": [
            {"path": s.path, "options": list(s.options), "tied_to": s.leader, "fixed": s.fixed}
            for s in space.slots
        ],
        "inputs": dict(space.inputs),
        "share_weights": space.share_weights,
        "tracker": space.tracker.name if space.tracker else None,
        "supernet_params": supernet_params(space),
    }


def _show(args: argparse.Namespace) -> int:
    space = load_space(args.space)
    info = describe(space)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    console = Console()
    table = Table(title=f"{space.name} — {space.file}")
    for col in ("block", "options", "decision"):
        table.add_column(col)
    for b in info["blocks"]:
        decision = "fixed" if b["fixed"] else (f"tied to {b['tied_to']}" if b["tied_to"] else "free")
        table.add_row(b["path"], ", ".join(b["options"]), decision)
    console.print(table)
    console.print(f"branches: {info['inputs']}  share_weights: {space.share_weights}  tracker: {info['tracker']}")
    console.print(f"free blocks: {info['free_blocks']}  size: {info['size']}  "
                  f"supernet params: {info['supernet_params']:,}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    space = load_space(args.space)
    print(f"{args.space}: ok ({space.name}, {len(space.free_blocks)} free blocks, size {space.size_text})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("space", help="inspect and validate search spaces")
    sub = parser.add_subparsers(dest="space_command", required=True)
    show = sub.add_parser("show", help="table of blocks, options, size and supernet parameters")
    show.add_argument("space")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(handler=_show)
    validate = sub.add_parser("validate", help="exit non-zero with the error on a bad space file")
    validate.add_argument("space")
    validate.set_defaults(handler=_validate)
