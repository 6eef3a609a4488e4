"""VLT-TT import: the official SOTS key layout onto `search_spaces/vlt_tt.yaml`.

No numeric fixture exists for VLT-TT (tests/fidelity covers VLT-SCAR and SPOS only). What is
checked here is structure: the fusion/head key names and shapes, written out independently
from a reading of SOTS 3a6af0d (`trans_fuse.py`, `trans_modules.py`, `head.py` TransInMoHead,
`SPOS_VLT.py` Joiner), equal those of the importer's map; every key is accounted for; the
output-only attention computes the official formula; an export tracks.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nasvl.bench.trackers import moving_shape_video
from nasvl.errors import CheckpointError
from nasvl.export import load_subnet
from nasvl.importers import import_sots
from nasvl.importers.sots import tt_mapping
from nasvl.space import load_space, parse_space_dict, to_cand
from nasvl.supernet import Supernet
from tests.conftest import SPACES

# MODEL.CAND of the official experiments/VLT_TT.yaml
TT_CAND = [[3, 3, 2, 2, 3, 3, 0, 0, 2, 3, 3, 2, 2, 2, 0, 3, 2, 1, 1, 3],
           [2, 1, 0, 3, 3, 1, 2, 0, 0, 0, 1, 1, 3, 3, 3, 0, 2, 1, 3, 2], [3, 0, 3, 0], [3, 0, 3, 0]]
BODY = "backbone.0.body."


def official_fusion_and_head() -> dict[str, tuple[int, ...]]:
    """Names and shapes of the official neck (FeatureFusionNetwork) and head (TransInMoHead)."""
    d, ffn, c = 256, 2048, 640
    out: dict[str, tuple[int, ...]] = {}

    def linear(name: str, i: int, o: int, bias: bool = True) -> None:
        out[f"{name}.weight"] = (o, i)
        if bias:
            out[f"{name}.bias"] = (o,)

    for proj in ("input_proj", "input_proj_copy"):
        out[f"neck.{proj}.weight"], out[f"neck.{proj}.bias"] = (d, c, 1, 1), (d,)
    for i in range(4):
        p = f"neck.encoder.layers.{i}."
        for attn in ("self_attn1", "self_attn2", "multihead_attn1", "multihead_attn2"):
            linear(p + attn + ".attn.fc", d, d, bias=False)  # Block_transformer_cat(cross=False): fc only
        for a, b in (("linear11", "linear12"), ("linear21", "linear22")):
            linear(p + a, d, ffn)
            linear(p + b, ffn, d)
        for n in ("norm11", "norm12", "norm13", "norm21", "norm22", "norm23"):
            out[p + n + ".weight"], out[p + n + ".bias"] = (d,), (d,)
    p = "neck.decoder.layers.0."
    linear(p + "multihead_attn.attn.fc", d, d, bias=False)
    linear(p + "linear1", d, ffn)
    linear(p + "linear2", ffn, d)
    for n in (p + "norm1", p + "norm2", "neck.decoder.norm"):
        out[n + ".weight"], out[n + ".bias"] = (d,), (d,)
    for name, k in (("class_embed", 2), ("bbox_embed", 4)):
        for j, (i, o) in enumerate(((d, d), (d, d), (d, k))):  # MLP(256, 256, k, 3)
            linear(f"head.{name}.layers.{j}", i, o)
    return out


@pytest.fixture(scope="module")
def official() -> dict[str, torch.Tensor]:
    """A VLT-TT state dict in the official layout, from a 768-d nasvl network through the map run backwards."""
    torch.manual_seed(0)
    base = load_space(SPACES / "vlt_tt.yaml")
    raw = json.loads(json.dumps(base.raw))
    raw["mixer"]["language_dim"] = 768
    net = Supernet(parse_space_dict(raw, file=base.file))
    own = net.state_dict()
    state = collections.OrderedDict()
    for src, dst, transform in tt_mapping(net):
        state[src] = own[dst].clone() if transform is None else transform(own[dst])  # the swap is an involution
    state[BODY + "conv_last.0.weight"] = torch.zeros(1024, 640, 1, 1)
    state[BODY + "classifier.0.weight"] = torch.zeros(1000, 1024)
    state[BODY + "bert_model.pooler.dense.bias"] = torch.zeros(768)
    return dict(state)


def _save(state: dict, path: Path) -> Path:
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    return path


def test_tt_map_uses_the_official_names_and_shapes(official) -> None:
    ours = {k: tuple(v.shape) for k, v in official.items() if k.startswith(("neck.", "head."))}
    assert ours == official_fusion_and_head()
    spot = {BODY + "first_conv.0.weight": (16, 3, 3, 3),
            BODY + "features.19.3.branch_main.0.weight": (320, 1, 3, 3),
            BODY + "nlp_layers.3.0.branch_main.0.weight": (320, 320, 1, 1),
            BODY + "token_map.3.0.weight": (640, 768, 1, 1), BODY + "token_map.0.1.running_var": (64,),
            BODY + "vistoken_layers.3.0.weight": (640, 640, 3, 3), BODY + "vistoken_layers.0.1.running_var": (64,)}
    for key, shape in spot.items():
        assert tuple(official[key].shape) == shape, key
    assert not any(k.startswith(("backbone.first_conv", "backbone.features", "neck.downsample")) for k in official)


def test_tt_import_accounts_for_every_key(official, tmp_path: Path) -> None:
    imported = import_sots(_save(official, tmp_path / "tt.pth"), TT_CAND)  # model read from the key layout
    assert imported.model == "VLT_TT"
    report = imported.report
    assert len(report.mapped) == len(official) - 3
    assert [u.split(" ")[0] for u in report.unused] == [
        BODY + "conv_last.0.weight", BODY + "classifier.0.weight", BODY + "bert_model.*"]
    assert report.missing == []
    assert BODY + "vistoken_layers.3.0.weight" in report.mapped
    assert set(imported.bert) == {"pooler.dense.bias"}
    sub = imported.subnet
    assert to_cand(sub.space, sub.arch) == TT_CAND and sub.space.mixer.language_dim == 768
    head = sub.head
    assert torch.equal(head.proj_s.weight, official["neck.input_proj_copy.weight"])
    assert torch.equal(head.fusion[2].cross_s.attn.fc.weight, official["neck.encoder.layers.2.multihead_attn2.attn.fc.weight"])
    assert torch.equal(head.decoder_norm.weight, official["neck.decoder.norm.weight"])
    # official class 0 (target) is nasvl's class 1
    assert torch.equal(head.cls.layers[2].weight[1], official["head.class_embed.layers.2.weight"][0])
    assert torch.equal(head.cls.layers[2].bias.flip(0), official["head.class_embed.layers.2.bias"])


def test_output_only_attention_is_the_official_formula() -> None:
    from trackers.tt_head import OutputOnlyAttention

    torch.manual_seed(0)
    attn, heads, d = OutputOnlyAttention(16, 4), 4, 16
    q, k, v = torch.randn(2, 5, d), torch.randn(2, 7, d), torch.randn(2, 7, d)

    def split(x: torch.Tensor) -> torch.Tensor:
        return x.view(2, x.shape[1], heads, d // heads).transpose(1, 2)

    w = torch.softmax(split(q) @ split(k).transpose(-2, -1) * (d // heads) ** -0.5, dim=-1)
    want = attn.fc((w @ split(v)).transpose(1, 2).reshape(2, 5, d))
    assert torch.allclose(attn(q, k, v), want, atol=1e-6)


@pytest.mark.parametrize("tamper, mentions", [
    ("shape", ["neck.encoder.layers.1.linear11.weight", "expected shape [2048, 256]", "found [2048, 255]"]),
    ("missing", ["missing key", "neck.decoder.norm.weight"]),
    ("wrong_model", ["MODEL.NAME is VLT_SCAR", "laid out as VLT_TT"]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_tt_import_rejects_a_tampered_checkpoint(official, tmp_path: Path, tamper: str, mentions) -> None:
    state = dict(official)
    if tamper == "shape":
        state["neck.encoder.layers.1.linear11.weight"] = torch.zeros(2048, 255)
    elif tamper == "missing":
        del state["neck.decoder.norm.weight"]
    path = _save(state, tmp_path / f"{tamper}.pth")
    with pytest.raises(CheckpointError) as info:
        import_sots(path, TT_CAND, model="VLT_SCAR" if tamper == "wrong_model" else "VLT_TT")
    for fragment in [str(path), *mentions]:
        assert fragment in str(info.value)


def test_cli_imports_vlt_tt_into_an_export_that_tracks(official, tmp_path: Path) -> None:
    from nasvl.cli import main
    from trackers import build_tracker

    config = tmp_path / "VLT_TT.yaml"
    config.write_text(f"MODEL:\n  NAME: VLT_TT\n  CAND: {TT_CAND}\n")
    ckpt = _save(official, tmp_path / "released.pth")
    assert main(["import", "sots", str(ckpt), "--config", str(config), "--out", str(tmp_path / "exp")]) == 0
    manifest = json.loads((tmp_path / "exp" / "manifest.json").read_text())
    assert manifest["extra"]["imported_from"]["format"] == "sots/VLT_TT"
    net = load_subnet(tmp_path / "exp")
    assert net.space.tracker.name == "vlt_tt" and to_cand(net.space, net.arch) == TT_CAND
    tracker = build_tracker(net)
    frames, boxes = moving_shape_video(4)
    tracker.initialize(frames[0], boxes[0])
    for frame in frames[1:]:
        box, score = tracker.track(frame)
        assert np.isfinite(box).all() and np.isfinite(score)
