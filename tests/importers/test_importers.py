"""The importers: strict key accounting, safe loading, and an export that tracks as it is.

The official-layout checkpoints here are written from a nasvl network through the importer's own
key map run backwards, so these tests need no fixture; tests/fidelity proves the map against the
official code's outputs.
"""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest
import torch

from nasvl.bench.trackers import PAPER_CAND
from nasvl.errors import CheckpointError, ConfigError
from nasvl.export import load_subnet
from nasvl.importers import import_sots, import_spos_supernet
from nasvl.importers.sots import sots_mapping
from nasvl.importers.spos import backbone_mapping
from nasvl.space import load_space, to_cand
from nasvl.supernet import Supernet, build_supernet
from tests.adversarial.harness import assert_refused, run_nasvl
from tests.conftest import SPACES


class Payload:  # a class torch.load(weights_only=True) must refuse to rebuild
    pass


@pytest.fixture(scope="module")
def official(tmp_path_factory: pytest.TempPathFactory) -> dict[str, torch.Tensor]:
    """A VLT-SCAR state dict in the official layout (keys, shapes, the ConvTranspose `down`)."""
    torch.manual_seed(0)
    net = Supernet(load_space(SPACES / "vlt_scar.yaml"))
    own = net.state_dict()
    state = collections.OrderedDict()
    for src, dst, transform in sots_mapping(net):
        value = own[dst].clone()
        state[src] = value.transpose(0, 1).contiguous() if transform is not None else value
    state["backbone.conv_last.0.weight"] = torch.zeros(1024, 640, 1, 1)
    return dict(state)


def _save(state: dict, path: Path, wrap: bool = True) -> Path:
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}} if wrap else state, path)
    return path


def test_sots_import_accounts_for_every_key(official, tmp_path: Path) -> None:
    imported = import_sots(_save(official, tmp_path / "ok.pth"), PAPER_CAND)
    report = imported.report
    assert len(report.mapped) == len(official) - 1
    assert report.unused == ["backbone.conv_last.0.weight (ImageNet classifier of the SPOS supernet)"]
    assert report.missing == []  # template_token: official maps vistoken_layers onto the template tokens
    assert any(k.startswith("backbone.vistoken_layers.") for k in report.mapped)
    assert to_cand(imported.subnet.space, imported.subnet.arch) == PAPER_CAND
    head = imported.subnet.head.down.weight
    assert torch.equal(head, official["head.down.weight"].transpose(0, 1))


@pytest.mark.parametrize("tamper, mentions", [
    ("shape", ["head.cls_logits.weight", "expected shape [2, 256, 3, 3]", "found [3, 256, 3, 3]"]),
    ("missing", ["missing key", "neck.downsample6.downsample.0.weight"]),
    ("unexpected", ["unexpected key", "backbone.extra.weight"]),
    ("pickle", ["refused", "arbitrary unpickling", "weights_only=True"]),
    ("not_tensor", ["entry 'note'", "not a tensor"]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_sots_import_rejects_a_tampered_checkpoint(official, tmp_path: Path, tamper: str, mentions) -> None:
    state = dict(official)
    path = tmp_path / f"{tamper}.pth"
    if tamper == "shape":
        state["head.cls_logits.weight"] = torch.zeros(3, 256, 3, 3)
    elif tamper == "missing":
        del state["neck.downsample6.downsample.0.weight"]
    elif tamper == "unexpected":
        state["backbone.extra.weight"] = torch.zeros(1)
    if tamper == "pickle":
        torch.save({"state_dict": state, "payload": Payload()}, path)
    elif tamper == "not_tensor":
        torch.save({**state, "note": "hello"}, path)
    else:
        _save(state, path)
    with pytest.raises(CheckpointError) as info:
        import_sots(path, PAPER_CAND)
    for fragment in mentions:
        assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_cli_import_refuses_a_pickled_file_cleanly(official, tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"a": torch.zeros(1)}, "payload": Payload()}, path)
    outcome = run_nasvl(["import", "sots", str(path), "--cand", str(PAPER_CAND), "--out", str(tmp_path / "x")],
                        cwd=tmp_path)
    assert_refused(outcome, mentions=[str(path), "arbitrary unpickling"])
    assert not (tmp_path / "x").exists()


def test_cli_import_makes_an_export_that_tracks(official, tmp_path: Path) -> None:
    from nasvl.cli import main
    from trackers import build_tracker

    ckpt = _save(official, tmp_path / "released.pth")
    config = tmp_path / "VLT_SCAR.yaml"
    config.write_text(f"MODEL:\n  NAME: VLT_SCAR\n  CAND: {PAPER_CAND}\n")
    assert main(["import", "sots", str(ckpt), "--config", str(config), "--out", str(tmp_path / "exp")]) == 0
    net = load_subnet(tmp_path / "exp")
    tracker = build_tracker(net)
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    tracker.initialize(frame, [100, 80, 40, 30])
    box, score = tracker.track(frame)
    assert np.isfinite(box).all() and np.isfinite(score)
    with pytest.raises(ConfigError, match="has no language model.*needs 384-d sentence embeddings.*BERT"):
        tracker.initialize(frame, [100, 80, 40, 30], text="a red car")


def test_spos_import_fills_the_paper_backbone(tmp_path: Path) -> None:
    spos = build_supernet(load_space(SPACES / "spos_shufflenet.yaml"))
    for v in spos.state_dict().values():
        if v.is_floating_point():
            v.normal_()
    mapping, _ = backbone_mapping(spos)
    own = spos.state_dict()
    state = {src: own[dst] for src, dst, _ in mapping}
    state["classifier.0.weight"] = torch.zeros(1000, 1024)
    ckpt = _save(state, tmp_path / "spos.pth")
    net = build_supernet(load_space(SPACES / "vlt_scar.yaml"))
    report = import_spos_supernet(ckpt, net)
    assert report.unused == ["classifier.0.weight (ImageNet classifier)"]
    assert not any(k.startswith(("stems.", "layers.")) for k in report.missing)
    assert any(k.startswith("mixers.") for k in report.missing) and any(k.startswith("head.") for k in report.missing)
    key = "layers.shared.stage3.0.ops.xception3.branch_proj.0.weight"  # ImageNet stride 2, VLT stride 1
    assert torch.equal(net.state_dict()[key], own[key])
    del state["features.7.2.branch_main.0.weight"]
    with pytest.raises(CheckpointError, match=r"missing key\(s\): features\.7\.2\.branch_main\.0\.weight"):
        import_spos_supernet(_save(state, tmp_path / "bad.pth"), net)


def test_train_config_starts_the_supernet_from_spos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nasvl.train.config import load_train_spec
    from nasvl.train.run import _build

    spos = build_supernet(load_space(SPACES / "spos_shufflenet.yaml"))
    mapping, _ = backbone_mapping(spos)
    own = spos.state_dict()
    _save({src: own[dst] for src, dst, _ in mapping}, tmp_path / "spos.pth")
    cfg = tmp_path / "train.yaml"
    cfg.write_text(f"name: t\nspace: {SPACES / 'vlt_scar.yaml'}\npairs: {{sources: [{{root: data, format: lasot}}]}}\n"
                   "train: {steps: 1, spos_init: spos.pth}\n")
    monkeypatch.chdir(tmp_path)  # a relative path is taken from the working directory, as pairs roots are
    spec = load_train_spec(cfg)
    assert spec.train.spos_init == str((tmp_path / "spos.pth").resolve())
    net = _build(spec, "supernet", None)
    key = "layers.shared.stage4.3.ops.shuffle7.branch_main.3.weight"
    assert torch.equal(net.state_dict()[key], own[key])
