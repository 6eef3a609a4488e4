from __future__ import annotations

import json

import pytest

from nasvl.cli import main
from tests.conftest import SPACES
from tests.space.test_space import PAPER_CAND

SHIPPED = sorted(p.name for p in SPACES.glob("*.yaml") if not p.name.endswith(".cand.yaml"))  # spaces, not CANDs


@pytest.mark.parametrize("name", SHIPPED)
def test_space_show_json_on_every_shipped_space(name: str, capsys) -> None:
    assert main(["space", "show", str(SPACES / name), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"name", "size", "blocks", "supernet_params"} <= set(info)
    assert int(info["size"]) >= 1 and info["supernet_params"] > 0
    assert all({"path", "options"} <= set(b) for b in info["blocks"])


def test_space_show_table(capsys) -> None:
    assert main(["space", "show", str(SPACES / "spos_shufflenet.yaml")]) == 0
    out = capsys.readouterr().out
    assert "backbone.stage4.3" in out and "size: 1099511627776" in out and "6,708,816" in out


def test_space_validate_exit_codes(tmp_path, capsys) -> None:
    assert main(["space", "validate", str(SPACES / "spos_shufflenet.yaml")]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text((SPACES / "spos_shufflenet.yaml").read_text().replace("ops: [shuffle3, shuffle5,", "ops: [shuffle3, shufle5,"))
    assert main(["space", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml:10: backbone.ops[1]: unknown op 'shufle5' (known: " in err


def test_arch_cost_with_paper_cand(capsys) -> None:
    code = main(["arch", "cost", str(SPACES / "vlt_scar.yaml"), "--sots-cand", json.dumps(PAPER_CAND), "--json"])
    assert code == 0
    info = json.loads(capsys.readouterr().out)
    parts = info["parts"]
    assert {"template.backbone", "search.backbone", "mixers", "head"} <= set(parts)
    assert info["params"] > 0 and info["macs"] > parts["search.backbone"]["macs"] > 0


def test_arch_cost_with_arch_file(tmp_path, capsys) -> None:
    import random

    from nasvl.space import load_space

    space = load_space(SPACES / "spos_shufflenet.yaml")
    arch_file = tmp_path / "a.yaml"
    arch_file.write_text(space.sample(random.Random(0)).to_yaml())
    assert main(["arch", "cost", str(SPACES / "spos_shufflenet.yaml"), "--arch", str(arch_file)]) == 0
    assert "total (unique params)" in capsys.readouterr().out
    assert main(["arch", "cost", str(SPACES / "spos_shufflenet.yaml")]) == 2
