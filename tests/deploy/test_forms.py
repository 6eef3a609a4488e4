"""The inference form (BN folded) and the ONNX graphs compute what the plain network computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasvl.deploy.fold import count_batchnorm, fold_batchnorm
from nasvl.deploy.runtimes import TorchEngine, make_engine
from nasvl.errors import ConfigError
from nasvl.supernet.mixer import LanguageInput

CASES = [("tiny.yaml", "sample"), ("tiny_tt.yaml", "sample"), ("tiny_siamcar.yaml", "sample"),
         ("vlt_scar.yaml", "paper"), ("vlt_tt.yaml", "sample")]


def _inputs(space, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, LanguageInput | None]:
    g = torch.Generator().manual_seed(seed)
    t, s = space.input_size("template"), space.input_size("search")
    z = torch.rand(1, 3, t, t, generator=g) * 255
    x = torch.rand(1, 3, s, s, generator=g) * 255
    lang = None
    if space.mixer is not None:
        lang = LanguageInput(torch.randn(1, space.mixer.language_dim, generator=g), torch.ones(1, dtype=torch.bool))
    return z, x, lang


def _close(got: dict[str, torch.Tensor], want: dict[str, torch.Tensor], rtol: float) -> None:
    assert sorted(got) == sorted(want)
    for k in want:
        a, b = got[k].float(), want[k].float()
        # relative to the output's scale: elementwise rtol fails on values that are ~0 by chance
        err = (a - b).abs().max().item() / max(b.abs().max().item(), 1e-12)
        assert err <= rtol, f"{k}: max error {err:.2e} of the output's scale (allowed {rtol:.0e})"


def _plain_and(engine_runtime: str, export, net, **kw):  # noqa: ANN001, ANN202
    z, x, lang = _inputs(net.space)
    plain = TorchEngine(net, net.arch, plain=True)
    want = plain.search(x, plain.template(z, lang))
    engine = make_engine(engine_runtime, net, net.arch, model_dir=export, **kw)
    return engine.search(x, engine.template(z, lang)), want


@pytest.mark.parametrize(("space_file", "which"), CASES, ids=[f"{s}-{w}" for s, w in CASES])
def test_folded_inference_form_matches_the_plain_network(space_file: str, which: str, export_of) -> None:
    export, net = export_of(space_file, which)
    got, want = _plain_and("torch", export, net)
    _close(got, want, 1e-4)


def test_folding_removes_every_batchnorm_that_follows_a_conv(export_of) -> None:
    _, net = export_of("vlt_scar.yaml", "paper")
    before = count_batchnorm(net)
    folded = fold_batchnorm(net.eval())
    assert folded > 0 and count_batchnorm(net) == before - folded == 0
    with pytest.raises(ValueError, match="eval-mode"):
        fold_batchnorm(net.train())


@pytest.mark.parametrize(("space_file", "which"), CASES[:4], ids=[f"{s}-{w}" for s, w in CASES[:4]])
def test_onnx_graphs_match_pytorch(space_file: str, which: str, export_of) -> None:
    from nasvl.deploy.ort import export_onnx

    export, net = export_of(space_file, which)
    export_onnx(export)
    got, want = _plain_and("onnx", export, net)
    _close(got, want, 1e-4)


def test_onnx_runtime_needs_the_graphs_and_the_zeros_fallback(export_of) -> None:
    from nasvl.errors import CheckpointError

    export, net = export_of("tiny.yaml")
    with pytest.raises(CheckpointError, match="export-onnx"):
        make_engine("onnx", net, net.arch, model_dir=export)
    with pytest.raises(ConfigError, match="template"):
        make_engine("onnx", net, net.arch, model_dir=export, language_fallback="template")
    with pytest.raises(ConfigError, match="unknown runtime"):
        make_engine("tensorrt", net, net.arch)


def test_the_zeros_fallback_and_no_text_agree_across_runtimes(export_of) -> None:
    from nasvl.deploy.ort import export_onnx

    export, net = export_of("tiny.yaml")
    export_onnx(export)
    z, x, _ = _inputs(net.space)
    none = LanguageInput.none(1, net.space.mixer.language_dim)
    plain = TorchEngine(net, net.arch, plain=True)
    want = plain.search(x, plain.template(z, none))
    onnx = make_engine("onnx", net, net.arch, model_dir=export)
    got = onnx.search(x, onnx.template(z, none))
    _close(got, want, 1e-4)
    assert np.isfinite(got["cls"].numpy()).all()
