from __future__ import annotations

import json
import random

import pytest
import torch

from nasvl.errors import CheckpointError
from nasvl.export import load_subnet, read_manifest, save_subnet
from nasvl.supernet import LanguageInput, build_supernet


def _trained_subnet(space, affine=False):
    net = build_supernet(space)
    for _ in range(2):
        net.train().features("template", torch.randn(2, 3, 63, 63), space.sample(random.Random(0)))
    return net.extract(space.sample(random.Random(0)), affine=affine).eval()


@pytest.mark.parametrize("affine", [False, True])
def test_roundtrip_rebuilds_from_files_alone(tiny_backbone, tmp_path, affine) -> None:
    sub = _trained_subnet(tiny_backbone, affine)
    save_subnet(sub, tmp_path / "exp", extra={"score": 0.5})
    assert {p.name for p in (tmp_path / "exp").iterdir()} == {"arch.yaml", "weights.safetensors", "manifest.json"}
    loaded = load_subnet(tmp_path / "exp")
    assert loaded.arch == sub.arch and loaded.affine == affine
    x = torch.randn(1, 3, 63, 63)
    lang = LanguageInput(torch.randn(1, 12), torch.ones(1, dtype=torch.bool))
    with torch.no_grad():
        for a, b in zip(sub.features("template", x, sub.arch, lang)[0],
                        loaded.features("template", x, loaded.arch, lang)[0], strict=True):
            assert torch.equal(a, b)
    manifest = read_manifest(tmp_path / "exp")
    assert manifest["space_hash"] == tiny_backbone.hash and manifest["extra"] == {"score": 0.5}


def test_bad_exports_get_clear_errors(tiny_backbone, tmp_path) -> None:
    sub = _trained_subnet(tiny_backbone)
    d = save_subnet(sub, tmp_path / "exp")
    with pytest.raises(CheckpointError, match="not an export directory"):
        load_subnet(tmp_path / "nope")

    manifest = json.loads((d / "manifest.json").read_text())
    (d / "manifest.json").write_text(json.dumps({**manifest, "space_hash": "0" * 16}))
    with pytest.raises(CheckpointError, match=f"space hash {tiny_backbone.hash} does not match the recorded 0000"):
        load_subnet(d)
    (d / "manifest.json").write_text(json.dumps({**manifest, "format_version": 9}))
    with pytest.raises(CheckpointError, match="format_version 9 is not supported"):
        load_subnet(d)
    (d / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="manifest.json: not valid JSON"):
        load_subnet(d)
    (d / "manifest.json").write_text(json.dumps(manifest))

    other = tiny_backbone.sample(random.Random(5))
    (d / "arch.yaml").write_text(other.to_yaml())
    with pytest.raises(CheckpointError, match="weights.safetensors: does not match arch.yaml"):
        load_subnet(d)
    (d / "arch.yaml").write_text("search.stage1.0: nonsense\n")
    with pytest.raises(CheckpointError, match="arch.yaml: .*op 'nonsense' is not an option"):
        load_subnet(d)
    (d / "arch.yaml").write_text(sub.arch.to_yaml())
    (d / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="weights.safetensors: unreadable"):
        load_subnet(d)
    (d / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match="manifest.json: missing"):
        load_subnet(d)
