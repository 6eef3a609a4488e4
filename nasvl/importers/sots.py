"""Released JudasDie/SOTS VLT-SCAR checkpoints onto the paper space (`search_spaces/vlt_scar.yaml`).

Official layout (`SiamInference.state_dict()`), and where each part goes:
  backbone.first_conv.*, backbone.features.<L>.<c>.*   stem and SPOS layers (see importers/spos.py)
  backbone.nlp_layers.<k>.<c>.*                         shared mixer post blocks of stage k
  backbone.token_map.<k>.{0,1}.*                        shared language projection (1×1 conv + BN)
  neck.downsample{2,3,4}.downsample.*                   template neck (stages 2-4)
  neck.downsample{5,6,7}.downsample.*                   search neck
  head.down                                             ConvTranspose2d 1×1, stored [in, out]: transposed
  head.{cls_tower,bbox_tower,cls_logits,centerness,bbox_pred}.*
  backbone.conv_last, classifier, vistoken_layers       unused by the tracker (listed)
  backbone.bert_model.*                                 the 768-d BERT: saved beside the export
The language width is read from token_map (768 for BERT-base) and written into the imported space.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from nasvl.errors import CheckpointError, ConfigError
from nasvl.importers.checkpoint import ImportReport, Mapping_, apply_mapping, load_state_dict_file
from nasvl.importers.spos import backbone_mapping
from nasvl.ops.shufflenet import SPOS_CHOICES
from nasvl.space import Architecture, SearchSpace, from_cand, load_space, parse_space_dict
from nasvl.supernet.network import SHARED, Subnet, Supernet

BERT_PREFIX = "backbone.bert_model."
SUPPORTED = {"VLT_SCAR": "vlt_scar.yaml"}
_UNUSED = {"backbone.conv_last.": "ImageNet classifier of the SPOS supernet",
           "backbone.classifier.": "ImageNet classifier of the SPOS supernet",
           "backbone.vistoken_layers.": "not used by the official tracker"}
_HEAD_RENAMES = {"box_tower": "bbox_tower", "ltrb": "bbox_pred"}
# Files of a transformers BERT folder other than its weights (copied from --bert DIR).
_BERT_FILES = ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def spaces_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "search_spaces"


@dataclass
class SotsImport:
    subnet: Subnet
    report: ImportReport
    bert: dict[str, torch.Tensor] = field(default_factory=dict)  # HF BertModel keys, when in the file


def read_sots_config(path: str | Path) -> tuple[str, list[list[int]]]:
    """MODEL.NAME and MODEL.CAND of an official SOTS experiment YAML."""
    p = Path(path)
    try:
        cfg = yaml.safe_load(p.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the SOTS config: {exc}", file=str(p)) from None
    model = cfg.get("MODEL") if isinstance(cfg, dict) else None
    if not isinstance(model, dict) or "NAME" not in model or "CAND" not in model:
        raise ConfigError("MODEL: an official SOTS experiment config needs MODEL.NAME and MODEL.CAND", file=str(p))
    cand = model["CAND"]
    if isinstance(cand, str):
        cand = yaml.safe_load(cand)
    return str(model["NAME"]), cand


def _check_space(space: SearchSpace) -> None:
    m, t = space.mixer, space.tracker
    problems = []
    if m is None or m.placement != "last_layer" or not m.shared or m.projection != "conv_bn":
        problems.append("mixer needs placement: last_layer, shared: true, projection: conv_bn")
    if not space.share_weights:
        problems.append("share_weights must be true")
    if t is None or not getattr(t.options, "separate_necks", False):
        problems.append("the tracker needs separate_necks: true")
    if problems:
        raise ConfigError(f"space {space.name!r} cannot hold the official VLT-SCAR: " + "; ".join(problems),
                          file=space.file)


def sots_mapping(net: Supernet) -> Mapping_:
    mapping, _ = backbone_mapping(net, prefix="backbone.")
    stages = list(net.space.mixer.stages)  # type: ignore[union-attr]
    post = re.compile(rf"^mixers\.{SHARED}\.(\w+)\.post\.ops\.(\w+)\.(.+)$")
    token = re.compile(rf"^mixers\.{SHARED}\.(\w+)\.token_map\.(.+)$")
    neck = re.compile(r"^head\.neck_(template|search)\.(\d+)\.(.+)$")
    n_xcorr = len(net.head.neck_template)  # type: ignore[union-attr]
    for key in net.state_dict():
        if m := post.match(key):
            st, op, rest = m.groups()
            if op in SPOS_CHOICES:
                mapping.append((f"backbone.nlp_layers.{stages.index(st)}.{SPOS_CHOICES.index(op)}.{rest}", key, None))
        elif m := token.match(key):
            mapping.append((f"backbone.token_map.{stages.index(m.group(1))}.{m.group(2)}", key, None))
        elif m := neck.match(key):
            branch, j, rest = m.groups()
            first = 2 if branch == "template" else 2 + n_xcorr
            mapping.append((f"neck.downsample{first + int(j)}.downsample.{rest}", key, None))
        elif key == "head.down.weight":
            mapping.append(("head.down.weight", key, lambda w: w.transpose(0, 1)))
        elif key.startswith("head."):
            name, rest = key[len("head."):].split(".", 1)
            mapping.append((f"head.{_HEAD_RENAMES.get(name, name)}.{rest}", key, None))
    return mapping


def import_sots(checkpoint: str | Path, cand: list[list[int]], *, model: str = "VLT_SCAR",
                space_file: str | Path | None = None) -> SotsImport:
    """Build the official network for `cand` with the checkpoint's weights (strict, see module doc)."""
    if model not in SUPPORTED:
        raise ConfigError(f"MODEL.NAME {model!r}: no key mapping yet (supported: {', '.join(SUPPORTED)}); "
                          "VLT_TT needs its TransT fusion mapped first")
    file = str(checkpoint)
    source = load_state_dict_file(checkpoint)
    bert = {k[len(BERT_PREFIX):]: v for k, v in source.items() if k.startswith(BERT_PREFIX)}
    vision = {k: v for k, v in source.items() if not k.startswith(BERT_PREFIX)}
    base = load_space(space_file or spaces_dir() / SUPPORTED[model])
    dim = vision.get("backbone.token_map.0.0.weight")
    if dim is None:
        raise CheckpointError(f"{file}: missing key backbone.token_map.0.0.weight (the language projection); "
                              "is this a VLT checkpoint?")
    raw = json.loads(json.dumps(base.raw))
    raw["mixer"]["language_dim"] = int(dim.shape[1])
    space = parse_space_dict(raw, file=base.file)
    _check_space(space)
    arch: Architecture = from_cand(space, cand)
    net = Supernet(space).eval()
    unused = {k: why for k in vision for p, why in _UNUSED.items() if k.startswith(p)}
    report = apply_mapping(vision, sots_mapping(net), net, file=file, unused=unused,
                           allow_missing=lambda key: key.startswith("template_embedders."))
    report.unused += [f"{BERT_PREFIX}* ({len(bert)} tensors: the language model, saved beside the export)"] if bert else []
    return SotsImport(net.extract(arch).eval(), report, bert)


def write_language(out: Path, bert: dict[str, torch.Tensor], bert_dir: str | Path | None, dim: int) -> dict[str, Any]:
    """Save the language model next to an export; returns the manifest's `language` entry."""
    from safetensors.torch import save_file

    entry: dict[str, Any] = {"dim": dim, "model": None}
    folder = out / "language"
    if bert_dir is not None:
        src = Path(bert_dir)
        if not (src / "config.json").is_file():
            raise ConfigError(f"--bert {src}: not a transformers BERT folder (no config.json)")
        folder.mkdir(parents=True, exist_ok=True)
        for name in _BERT_FILES:
            if (src / name).is_file():
                shutil.copy2(src / name, folder / name)
        if not bert:
            for name in ("model.safetensors", "pytorch_model.bin"):
                if (src / name).is_file():
                    shutil.copy2(src / name, folder / name)
    if bert:
        folder.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in bert.items()}, str(folder / "model.safetensors"))
    if (folder / "config.json").is_file():
        entry["model"] = str(folder)
    elif bert:
        entry["note"] = (f"the checkpoint's BERT weights are in {folder / 'model.safetensors'}, but its config "
                         "and tokenizer are missing: re-run with --bert DIR (a local bert-base-uncased folder)")
    else:
        entry["note"] = (f"no language model: the checkpoint holds no BERT weights; tracking with text needs a "
                         f"{dim}-d BERT (re-run with --bert DIR, or give --language-model DIR to track)")
    return entry
