"""Released JudasDie/SOTS VLT checkpoints (VLT_SCAR, VLT_TT) onto the paper spaces.

VLT_SCAR (`search_spaces/vlt_scar.yaml`; `SiamInference.state_dict()`), and where each part goes:
  backbone.first_conv.*, backbone.features.<L>.<c>.*   stem and SPOS layers (see importers/spos.py)
  backbone.nlp_layers.<k>.<c>.*                         shared mixer post blocks of stage k
  backbone.token_map.<k>.{0,1}.*                        shared language projection (1×1 conv + BN)
  neck.downsample{2,3,4}.downsample.*                   template neck (stages 2-4)
  neck.downsample{5,6,7}.downsample.*                   search neck
  head.down                                             ConvTranspose2d 1×1, stored [in, out]: transposed
  head.{cls_tower,bbox_tower,cls_logits,centerness,bbox_pred}.*
  backbone.vistoken_layers.<k>.{0,1}.*                  no-description template token of stage k
                                                        (template_token: official; else listed unused)
  backbone.conv_last, classifier                        unused by the tracker (listed)
  backbone.bert_model.*                                 the 768-d BERT: saved beside the export
VLT_TT (`search_spaces/vlt_tt.yaml`): the same backbone under `backbone.0.body.` (a Joiner of the
SPOS body and a parameter-free sine position encoding), the TransT fusion as `neck.*` and the
MLPs as `head.*`:
  neck.input_proj, neck.input_proj_copy                 template / search 1×1 projections
  neck.encoder.layers.<i>.{self_attn1,self_attn2,multihead_attn1,multihead_attn2}.attn.fc
                                                        self (template, search), cross (t←s, s←t)
  neck.encoder.layers.<i>.{norm11..13,norm21..23,linear11,linear12,linear21,linear22}
  neck.decoder.layers.0.{multihead_attn.attn.fc,norm1,norm2,linear1,linear2}, neck.decoder.norm
  head.class_embed.layers.<j>, head.bbox_embed.layers.<j>
  The official decoding takes softmax class 0 as the target, nasvl class 1: the rows of the last
  class layer are swapped, which leaves every score unchanged.
No numeric fixture exists for VLT_TT: its map is written from the official module tree
(SOTS 3a6af0d) and checked for key names and shapes only.
The language width is read from token_map (768 for BERT-base) and written into the imported space;
a VLT_TT import also gets the official tracker input (crop_input: imagenet_rgb, search_region: context).
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
from nasvl.supernet.network import SHARED, Subnet, Supernet, build_supernet

# MODEL.NAME -> (space file, official module path of the SPOS body)
SUPPORTED = {"VLT_SCAR": ("vlt_scar.yaml", "backbone."), "VLT_TT": ("vlt_tt.yaml", "backbone.0.body.")}
_UNUSED = {"conv_last.": "ImageNet classifier of the SPOS supernet",
           "classifier.": "ImageNet classifier of the SPOS supernet"}
_VISTOKEN_UNUSED = {"vistoken_layers.": "the space's template fallback is not `template_token: official`"}
_HEAD_RENAMES = {"box_tower": "bbox_tower", "ltrb": "bbox_pred"}
# nasvl TTHead module -> official FeatureFusionLayer names (attention, its norm), FFN (in, out, norm)
_TT_ATTEND = {"self_t": ("self_attn1", "norm11"), "self_s": ("self_attn2", "norm21"),
              "cross_t": ("multihead_attn1", "norm12"), "cross_s": ("multihead_attn2", "norm22")}
_TT_FFN = {"ffn_t": ("linear11", "linear12", "norm13"), "ffn_s": ("linear21", "linear22", "norm23")}
# Files of a transformers BERT folder other than its weights (copied from --bert DIR).
_BERT_FILES = ("config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def spaces_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "search_spaces"


@dataclass
class SotsImport:
    subnet: Subnet
    report: ImportReport
    bert: dict[str, torch.Tensor] = field(default_factory=dict)  # HF BertModel keys, when in the file
    model: str = "VLT_SCAR"  # MODEL.NAME the checkpoint was read as


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


def _check_space(space: SearchSpace, model: str) -> None:
    m, t = space.mixer, space.tracker
    options = t.options if t is not None else None
    problems = []
    if m is None or m.placement != "last_layer" or not m.shared or m.projection != "conv_bn":
        problems.append("mixer needs placement: last_layer, shared: true, projection: conv_bn")
    if not space.share_weights:
        problems.append("share_weights must be true")
    if model == "VLT_SCAR" and not getattr(options, "separate_necks", False):
        problems.append("the tracker needs separate_necks: true")
    if model == "VLT_TT" and (getattr(options, "attention", None) != "output_only"
                              or not getattr(options, "decoder_norm", False)):
        problems.append("the tracker needs attention: output_only and decoder_norm: true")
    if problems:
        raise ConfigError(f"space {space.name!r} cannot hold the official {model}: " + "; ".join(problems),
                          file=space.file)


def _mixer_mapping(net: Supernet, body: str) -> Mapping_:
    """Stem, backbone layers and the shared mixers (post blocks, token_map) under the body prefix."""
    mapping, _ = backbone_mapping(net, prefix=body)
    stages = list(net.space.mixer.stages)  # type: ignore[union-attr]
    post = re.compile(rf"^mixers\.{SHARED}\.(\w+)\.post\.ops\.(\w+)\.(.+)$")
    token = re.compile(rf"^mixers\.{SHARED}\.(\w+)\.token_map\.(.+)$")
    vistoken = re.compile(r"^template_embedders\.(\w+)\.layers\.(.+)$")
    for key in net.state_dict():
        if m := post.match(key):
            st, op, rest = m.groups()
            if op in SPOS_CHOICES:
                mapping.append((f"{body}nlp_layers.{stages.index(st)}.{SPOS_CHOICES.index(op)}.{rest}", key, None))
        elif m := token.match(key):
            mapping.append((f"{body}token_map.{stages.index(m.group(1))}.{m.group(2)}", key, None))
        elif m := vistoken.match(key):  # only TemplateToken modules have `.layers`
            mapping.append((f"{body}vistoken_layers.{stages.index(m.group(1))}.{m.group(2)}", key, None))
    return mapping


def _swap_classes(w: torch.Tensor) -> torch.Tensor:
    return w.flip(0).contiguous()  # official class 0 (target) becomes nasvl's class 1


def tt_mapping(net: Supernet) -> Mapping_:
    """The official VLT_TT layout onto a `vlt_tt` network (see the module doc)."""
    mapping = _mixer_mapping(net, SUPPORTED["VLT_TT"][1])
    last_cls = f"head.cls.layers.{len(net.head.cls.layers) - 1}."  # type: ignore[union-attr]
    fusion = re.compile(r"^head\.fusion\.(\d+)\.(\w+)\.(attn\.fc|norm|net\.0|net\.3)\.(\w+)$")
    simple = {"head.proj_t.": "neck.input_proj.", "head.proj_s.": "neck.input_proj_copy.",
              "head.decoder.attn.fc.": "neck.decoder.layers.0.multihead_attn.attn.fc.",
              "head.decoder.norm.": "neck.decoder.layers.0.norm1.",
              "head.decoder_ffn.net.0.": "neck.decoder.layers.0.linear1.",
              "head.decoder_ffn.net.3.": "neck.decoder.layers.0.linear2.",
              "head.decoder_ffn.norm.": "neck.decoder.layers.0.norm2.",
              "head.decoder_norm.": "neck.decoder.norm.",
              "head.cls.": "head.class_embed.", "head.box.": "head.bbox_embed."}
    for key in net.state_dict():
        if m := fusion.match(key):
            i, part, sub, leaf = m.groups()
            if part in _TT_ATTEND:
                name = _TT_ATTEND[part][0] + ".attn.fc" if sub == "attn.fc" else _TT_ATTEND[part][1]
            else:
                name = dict(zip(("net.0", "net.3", "norm"), _TT_FFN[part], strict=True))[sub]
            mapping.append((f"neck.encoder.layers.{i}.{name}.{leaf}", key, None))
            continue
        for ours, theirs in simple.items():
            if key.startswith(ours):
                transform = _swap_classes if key.startswith(last_cls) else None
                mapping.append((theirs + key[len(ours):], key, transform))
                break
    return mapping


def sots_mapping(net: Supernet) -> Mapping_:
    """The official VLT_SCAR layout onto a `vlt_scar` network (see the module doc)."""
    mapping = _mixer_mapping(net, SUPPORTED["VLT_SCAR"][1])
    neck = re.compile(r"^head\.neck_(template|search)\.(\d+)\.(.+)$")
    n_xcorr = len(net.head.neck_template)  # type: ignore[union-attr]
    for key in net.state_dict():
        if m := neck.match(key):
            branch, j, rest = m.groups()
            first = 2 if branch == "template" else 2 + n_xcorr
            mapping.append((f"neck.downsample{first + int(j)}.downsample.{rest}", key, None))
        elif key == "head.down.weight":
            mapping.append(("head.down.weight", key, lambda w: w.transpose(0, 1)))
        elif key.startswith("head."):
            name, rest = key[len("head."):].split(".", 1)
            mapping.append((f"head.{_HEAD_RENAMES.get(name, name)}.{rest}", key, None))
    return mapping


def detect_model(source: dict[str, torch.Tensor]) -> str | None:
    """MODEL.NAME whose SPOS body prefix the checkpoint's keys use (None if neither)."""
    found = [name for name, (_, body) in SUPPORTED.items() if any(k.startswith(body + "features.") for k in source)]
    return found[0] if len(found) == 1 else None


def import_sots(checkpoint: str | Path, cand: list[list[int]], *, model: str | None = None,
                space_file: str | Path | None = None) -> SotsImport:
    """Build the official network for `cand` with the checkpoint's weights (strict, see module doc).

    `model` is MODEL.NAME (VLT_SCAR or VLT_TT); None reads it from the checkpoint's key layout.
    """
    if model is not None and model not in SUPPORTED:
        raise ConfigError(f"MODEL.NAME {model!r}: no key mapping (supported: {', '.join(SUPPORTED)})")
    file = str(checkpoint)
    source = load_state_dict_file(checkpoint)
    detected = detect_model(source)
    if model is None and detected is None:
        raise CheckpointError(f"{file}: neither a VLT_SCAR nor a VLT_TT checkpoint (no "
                              f"{' or '.join(body + 'features.*' for _, body in SUPPORTED.values())} keys)")
    if model is not None and detected is not None and detected != model:
        raise CheckpointError(f"{file}: MODEL.NAME is {model} but the checkpoint's keys are laid out as "
                              f"{detected} ({SUPPORTED[detected][1]}features.*)")
    model = model or detected
    assert model is not None
    space_name, body = SUPPORTED[model]
    bert_prefix = body + "bert_model."
    bert = {k[len(bert_prefix):]: v for k, v in source.items() if k.startswith(bert_prefix)}
    vision = {k: v for k, v in source.items() if not k.startswith(bert_prefix)}
    base = load_space(space_file or spaces_dir() / space_name)
    dim = vision.get(f"{body}token_map.0.0.weight")
    if dim is None:
        raise CheckpointError(f"{file}: missing key {body}token_map.0.0.weight (the language projection); "
                              f"is this a {model} checkpoint?")
    raw = json.loads(json.dumps(base.raw))
    raw["mixer"]["language_dim"] = int(dim.shape[1])
    if model == "VLT_TT":  # the official tracker's crops (trackers/tt.py TTOptions)
        raw["tracker"].setdefault("options", {}).update(crop_input="imagenet_rgb", search_region="context")
    space = parse_space_dict(raw, file=base.file)
    _check_space(space, model)
    arch: Architecture = from_cand(space, cand)
    net = build_supernet(space).eval()
    official_token = space.mixer.template_token == "official"  # type: ignore[union-attr]
    skipped = _UNUSED if official_token else {**_UNUSED, **_VISTOKEN_UNUSED}
    unused = {k: why for k in vision for p, why in skipped.items() if k.startswith(body + p)}
    mapping = tt_mapping(net) if model == "VLT_TT" else sots_mapping(net)
    # A pooled-fallback space has no official counterpart for its template embedders.
    report = apply_mapping(vision, mapping, net, file=file, unused=unused,
                           allow_missing=lambda key: not official_token and key.startswith("template_embedders."))
    report.unused += [f"{bert_prefix}* ({len(bert)} tensors: the language model, saved beside the export)"] if bert else []
    return SotsImport(net.extract(arch).eval(), report, bert, model)


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
