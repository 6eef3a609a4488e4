"""nasvl's networks against the official code's outputs, through the importers.

Every folder of `<repo>/../shared/fixtures/official/` is checked, dispatched on its meta.json
`kind`: its official-layout checkpoint is regenerated from keys.json by the README's weight
rule, saved as a torch file, imported, and every output array is compared at the folder's
`tolerance_rel` (max|ours - official| / max|official|).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from nasvl.importers import SposClassifier, import_sots, import_spos_supernet, load_state_dict_file
from nasvl.ops.shufflenet import SPOS_CHOICES
from nasvl.space import load_space
from nasvl.supernet import LanguageInput, build_supernet
from tests.conftest import SPACES
from tests.fidelity.official import FIXTURES, fixture_dirs, meta, regenerate, rel_error

Outputs = dict[str, torch.Tensor]


def _spos(folder: Path, m: dict, ckpt: Path, io: dict[str, np.ndarray]) -> Outputs:
    space = load_space(SPACES / "spos_shufflenet.yaml")
    net = build_supernet(space).eval()
    report = import_spos_supernet(ckpt, net)
    assert any(k.startswith("classifier.") for k in report.unused)
    layers = [(st.name, i) for st in space.stages for i in range(st.depth)]
    arch = space.arch({f"backbone.{st}.{i}": SPOS_CHOICES[c] for (st, i), c in zip(layers, m["path"], strict=True)})
    feats, _ = net.features("backbone", torch.from_numpy(io["image"]), arch)
    out = {f"stage{k + 1}": f for k, f in enumerate(feats)}
    out["logits"] = SposClassifier(load_state_dict_file(ckpt)).eval()(feats[-1])
    return out


def _sots_vlt_scar(folder: Path, m: dict, ckpt: Path, io: dict[str, np.ndarray]) -> Outputs:
    imported = import_sots(ckpt, m["cand"])
    net = imported.subnet.eval()
    lang = LanguageInput(torch.from_numpy(io["language"]), torch.tensor([True]))
    cache = net.template(torch.from_numpy(io["template"]), net.arch, lang)
    heads = net.search(torch.from_numpy(io["search"]), cache, net.arch)
    search_feats, _ = net.features("search", torch.from_numpy(io["search"]), net.arch, selectors=cache.selectors)
    out = {"cls": heads["cls"], "cen": heads["cen"], "reg": heads["ltrb"]}
    stages = net.space.mixer.stages
    for k, st in enumerate(net.space.stages):
        out[f"template_stage{k + 1}"] = cache.feats[k]
        out[f"search_stage{k + 1}"] = search_feats[k]
        out[f"language_token{stages.index(st.name) + 1}"] = cache.selectors[st.name]
    for k, kernel in enumerate(cache.head_state):
        out[f"template_neck{k + 1}"] = kernel
    return out


RUNNERS: dict[str, Callable[[Path, dict, Path, dict[str, np.ndarray]], Outputs]] = {
    "spos_imagenet_supernet": _spos,
    "sots_vlt_scar": _sots_vlt_scar,
}


@pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"no official fixtures at {FIXTURES}")
@pytest.mark.parametrize("folder", fixture_dirs(), ids=lambda d: d.name)
def test_official_outputs(folder: Path, tmp_path: Path) -> None:
    m = meta(folder)
    assert m["kind"] in RUNNERS, f"{folder.name}: no runner for kind {m['kind']!r} (known: {sorted(RUNNERS)})"
    ckpt = tmp_path / "official.pth"
    torch.save(regenerate(folder, m["seed"], m.get("excluded_key_prefix")), ckpt)
    io = dict(np.load(folder / "io.npz"))
    torch.set_num_threads(max(1, torch.get_num_threads()))
    with torch.no_grad():
        ours = RUNNERS[m["kind"]](folder, m, ckpt, io)
    expected = set(m["outputs"])
    assert expected <= set(ours), f"outputs not produced: {sorted(expected - set(ours))}"
    errors = {name: rel_error(ours[name], io[name]) for name in sorted(expected)}
    for name in expected:
        assert tuple(ours[name].shape) == tuple(io[name].shape), name
    worst = max(errors, key=errors.get)
    assert errors[worst] <= m["tolerance_rel"], f"{folder.name}: {worst} off by {errors[worst]:.2e} (all: {errors})"
