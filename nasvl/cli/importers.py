"""`nasvl import sots`: a released SOTS VLT checkpoint as a nasvl export (track, eval, retrain use it)."""

from __future__ import annotations

import argparse
import json

from nasvl.errors import ConfigError


def _sots(args: argparse.Namespace) -> int:
    from pathlib import Path

    from nasvl.export import save_subnet
    from nasvl.importers import import_sots, read_sots_config, write_language
    from nasvl.space import to_cand

    if (args.config is None) == (args.cand is None):
        raise ConfigError("give exactly one of --config SOTS_EXPERIMENT.yaml or --cand '[[...],[...],[...],[...]]'")
    if args.config is not None:
        model, cand = read_sots_config(args.config)
    else:
        model = args.model
        try:
            cand = json.loads(args.cand)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--cand is not a JSON list: {exc}") from None
    imported = import_sots(args.checkpoint, cand, model=model, space_file=args.space)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    subnet = imported.subnet
    language = write_language(out, imported.bert, args.bert, subnet.space.mixer.language_dim)  # type: ignore[union-attr]
    extra = {"imported_from": {"format": f"sots/{imported.model}", "checkpoint": str(args.checkpoint),
                               "cand": to_cand(subnet.space, subnet.arch), **imported.report.as_dict()},
             "language": language}
    save_subnet(subnet, out, extra=extra)
    print(imported.report.summary())
    print(f"export written to {out} ({subnet.space.name}, arch {subnet.arch.key})")
    if language.get("model"):
        print(f"language model: {language['model']} (give it to track/eval as --language-model)")
    else:
        print(f"warning: {language['note']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("import", help="import official checkpoints")
    sub = parser.add_subparsers(dest="import_command", required=True)
    p = sub.add_parser("sots", help="a released JudasDie/SOTS VLT-SCAR or VLT-TT checkpoint as a nasvl export")
    p.add_argument("checkpoint", help="torch file holding the state dict (weights_only load; never unpickled)")
    p.add_argument("--config", help="the official experiment YAML (MODEL.NAME, MODEL.CAND)")
    p.add_argument("--cand", help="the CAND list instead of --config")
    p.add_argument("--model", default=None, choices=["VLT_SCAR", "VLT_TT"],
                   help="MODEL.NAME with --cand (default: read from the checkpoint's key layout)")
    p.add_argument("--space", default=None,
                   help="space YAML (default: search_spaces/vlt_scar.yaml or vlt_tt.yaml, by model)")
    p.add_argument("--bert", default=None, help="local transformers BERT folder (config + tokenizer)")
    p.add_argument("--out", required=True, help="export directory")
    p.set_defaults(handler=_sots)
