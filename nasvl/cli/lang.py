"""`nasvl lang embed "text"`: embed one description and print what the ModaMixer would see."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nasvl.errors import ConfigError

_PREVIEW = 8


def register(subparsers: argparse._SubParsersAction) -> None:
    lang = subparsers.add_parser("lang", help="language encoder tools")
    sub = lang.add_subparsers(dest="lang_command", required=True, metavar="SUBCOMMAND")
    embed = sub.add_parser("embed", help="embed a description; print its dim, norm and first values")
    embed.add_argument("text", help="the description (empty or whitespace-only means 'no description')")
    embed.add_argument(
        "--model", default=None, help="'minilm' (default), a local model directory, or a cached hub id"
    )
    embed.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    embed.add_argument("--cache", type=Path, default=None, help="embedding cache directory (default: none)")
    embed.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    embed.set_defaults(handler=_embed)


def _embed(args: argparse.Namespace) -> int:
    # Imported here so `nasvl --help` and other commands do not pay for torch.
    from nasvl.language import DEFAULT_LANGUAGE_MODEL, EmbeddingCache, LanguageEncoder

    encoder = LanguageEncoder(args.model or DEFAULT_LANGUAGE_MODEL, device=args.device)
    vector = EmbeddingCache(args.cache, encoder).get(args.text)
    if vector is None:
        raise ConfigError(
            "the text is empty or whitespace-only, which means 'no description' (nothing to embed)"
        )
    report = {
        "model": encoder.model_name,
        "model_id": encoder.model_id,
        "dim": int(vector.numel()),
        "norm": float(vector.norm()),
        "first": [round(float(x), 6) for x in vector[:_PREVIEW]],
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"model  {report['model']} ({report['model_id']})")
        print(f"dim    {report['dim']}")
        print(f"norm   {report['norm']:.6f}")
        print("first  " + " ".join(f"{x:+.4f}" for x in report["first"]))
    return 0
