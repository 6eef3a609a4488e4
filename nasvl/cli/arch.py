"""`nasvl arch cost`: params and MACs of one architecture, in total and per part."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from nasvl.config import load_yaml
from nasvl.config.yamldoc import load_json_text
from nasvl.cost import CostModel
from nasvl.errors import ConfigError
from nasvl.space import Architecture, SearchSpace, from_cand, load_arch, load_space


def arch_from_args(space: SearchSpace, arch_file: str | None, sots_cand: str | None) -> Architecture:
    if (arch_file is None) == (sots_cand is None):
        raise ConfigError("give exactly one of --arch FILE or --sots-cand '[[...],[...],[...],[...]]'")
    if arch_file is not None:
        return load_arch(space, load_yaml(arch_file))
    cand = load_json_text(sots_cand, file="--sots-cand")  # type: ignore[arg-type]
    return from_cand(space, cand, source="--sots-cand")


def _cost(args: argparse.Namespace) -> int:
    space = load_space(args.space)
    arch = arch_from_args(space, args.arch, args.sots_cand)
    cost = CostModel.for_space(space).cost(arch)
    if args.json:
        print(json.dumps({"space": space.name, "arch": arch.key, **cost.as_dict()}, indent=2))
        return 0
    table = Table(title=f"{space.name} / {arch.key}")
    for col in ("part", "params", "MACs"):
        table.add_column(col, justify="right" if col != "part" else "left")
    for part, c in cost.parts.items():
        table.add_row(part, f"{c['params']:,}", f"{c['macs']:,}")
    table.add_row("total (unique params)", f"{cost.params:,}", f"{cost.macs:,}", style="bold")
    table.add_row("per frame (template side cached)", "", f"{cost.per_frame_macs:,}")
    Console().print(table)
    if space.share_weights:
        Console().print("branches share weights: a layer both branches run with the same op counts once in the total")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("arch", help="work with single architectures")
    sub = parser.add_subparsers(dest="arch_command", required=True)
    cost = sub.add_parser("cost", help="params and MACs in total and per part")
    cost.add_argument("space")
    cost.add_argument("--arch", help="architecture YAML/JSON (block path -> op)")
    cost.add_argument("--sots-cand", help="official CAND list, e.g. '[[2,2,...],[1,3,...],[3,0,3,0],[3,0,3,0]]'")
    cost.add_argument("--json", action="store_true")
    cost.set_defaults(handler=_cost)
