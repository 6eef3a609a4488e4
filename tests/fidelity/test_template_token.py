"""The official no-description template token (`mixer.template_token: official`) against the SOTS formula.

SOTS `SPOS_VLT.forward_track_nlp_tem` (3a6af0d): at the mixer of stage k, with h the output of the
stage's second-to-last layer, token = LeakyReLU_0.1(BN(Conv3×3(roi_align(h, [0, box], [3, 3],
spatial_scale=1/8, sampling_ratio=-1)))), and stage_out = L_last(h) + nlp_layers[k](token ⊙ h);
`forward_track_nlp_sear` reuses the template's tokens. torchvision is not installed here, so the
reference ROI-Align below is a line-by-line scalar transcription of torchvision's CPU kernel
(`roi_align_kernel.cpp`, aligned=False); everything else uses F.conv2d / F.batch_norm on the
official tensors, not nasvl's modules.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nasvl.importers import import_sots
from nasvl.space import load_space
from nasvl.supernet import LanguageInput, build_supernet
from nasvl.supernet.mixer import roi_align
from tests.conftest import SPACES
from tests.fidelity.official import FIXTURES, meta, regenerate, rel_error

SCAR = FIXTURES / "vlt_scar_paper"


def _bilinear(fm: torch.Tensor, y: float, x: float) -> torch.Tensor:
    h, w = fm.shape[-2:]
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return fm.new_zeros(fm.shape[0])
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= h - 1:
        y_high = y_low = h - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= w - 1:
        x_high = x_low = w - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * fm[:, y_low, x_low] + hy * lx * fm[:, y_low, x_high]
            + ly * hx * fm[:, y_high, x_low] + ly * lx * fm[:, y_high, x_high])


def reference_roi_align(fm: torch.Tensor, box: list[float], pooled: int, scale: float) -> torch.Tensor:
    """torchvision roi_align of one (C, H, W) map and one xyxy box, sampling_ratio=-1, aligned=False."""
    x1, y1, x2, y2 = (v * scale for v in box)
    roi_w, roi_h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    bin_w, bin_h = roi_w / pooled, roi_h / pooled
    grid_h, grid_w = math.ceil(roi_h / pooled), math.ceil(roi_w / pooled)
    count = max(grid_h * grid_w, 1)
    out = fm.new_zeros(fm.shape[0], pooled, pooled)
    for ph in range(pooled):
        for pw in range(pooled):
            acc = fm.new_zeros(fm.shape[0])
            for iy in range(grid_h):
                y = y1 + ph * bin_h + (iy + 0.5) * bin_h / grid_h
                for ix in range(grid_w):
                    x = x1 + pw * bin_w + (ix + 0.5) * bin_w / grid_w
                    acc = acc + _bilinear(fm, y, x)
            out[:, ph, pw] = acc / count
    return out


@pytest.mark.parametrize("box", [
    [20.0, 30.0, 90.0, 100.0],      # a typical template box (grid 3×3 per bin at stride 8)
    [63.2, 63.5, 63.9, 64.1],       # smaller than a feature cell: forced to 1×1
    [-30.0, -12.0, 40.0, 150.0],    # partly outside the map: out-of-range samples count as 0
    [0.0, 0.0, 127.0, 127.0],       # the whole crop
    [100.0, 5.0, 140.0, 180.0],     # past the right and bottom edges
], ids=["typical", "tiny", "outside_top_left", "whole", "outside_bottom_right"])
@pytest.mark.parametrize("scale", [1 / 8, 1 / 4])
def test_roi_align_matches_torchvision_kernel(box: list[float], scale: float) -> None:
    g = torch.Generator().manual_seed(0)
    fm = torch.randn(2, 5, 16, 13, generator=g, dtype=torch.float64)
    boxes = torch.tensor([box, [b + 3 for b in box]], dtype=torch.float64)
    ours = roi_align(fm, boxes, 3, scale)
    for i in range(2):
        ref = reference_roi_align(fm[i], boxes[i].tolist(), 3, scale)
        assert torch.allclose(ours[i], ref, rtol=1e-12, atol=1e-12), (box, scale, i)


def test_roi_align_passes_gradients_to_the_feature() -> None:
    fm = torch.randn(1, 3, 8, 8, requires_grad=True)
    roi_align(fm, torch.tensor([[4.0, 4.0, 40.0, 30.0]]), 3, 1 / 8).sum().backward()
    assert fm.grad is not None and fm.grad.abs().sum() > 0


def _token(state: dict[str, torch.Tensor], k: int, h: torch.Tensor, box: list[float]) -> torch.Tensor:
    """SOTS vistoken_layers[k] on roi_align(h, box, 3, 1/8), from the official tensors (eval-mode BN)."""
    p = f"backbone.vistoken_layers.{k}."
    pooled = reference_roi_align(h[0], box, 3, 1 / 8)[None]
    y = F.conv2d(pooled, state[p + "0.weight"], state[p + "0.bias"])
    y = F.batch_norm(y, state[p + "1.running_mean"], state[p + "1.running_var"], state[p + "1.weight"],
                     state[p + "1.bias"], training=False, eps=1e-5)
    return F.leaky_relu(y, 0.1)


@pytest.mark.skipif(not (SCAR / "meta.json").is_file(), reason=f"no official fixture at {SCAR}")
def test_official_token_without_description(tmp_path: Path) -> None:
    m = meta(SCAR)
    state = regenerate(SCAR, m["seed"], m.get("excluded_key_prefix"))
    torch.save(state, tmp_path / "official.pth")
    net = import_sots(tmp_path / "official.pth", m["cand"]).subnet.eval()
    assert net.space.mixer.template_token == "official"
    io = dict(np.load(SCAR / "io.npz"))
    template = torch.from_numpy(io["template"])
    box = [31.5, 40.25, 95.0, 88.75]  # template-crop pixels, xyxy
    lang = LanguageInput(torch.zeros(1, 768), torch.tensor([False]), torch.tensor([True]), torch.tensor([box]))
    with torch.no_grad():
        cache = net.template(template, net.arch, lang)
        # The official composition, written out with nasvl's backbone layers (proven by the text fixture)
        # and the reference token: h → L_last(h) + Post(token ⊙ h).
        ops = net.space.resolve(net.arch)
        x = net.stems["shared"](template)
        for k, st in enumerate(net.space.stages):
            layers = net.layers["shared"][st.name]
            for i in range(st.depth - 1):
                x = layers[i](x, ops[f"template.{st.name}.{i}"])
            token = _token(state, k, x, box)
            assert rel_error(cache.selectors[st.name], token.numpy()) < 1e-5, st.name
            post = net.mixers["shared"][st.name].post
            x = (layers[st.depth - 1](x, ops[f"template.{st.name}.{st.depth - 1}"])
                 + post(token * x, ops[f"template.{st.name}.post"]))
            assert rel_error(cache.feats[k], x.numpy()) < 1e-5, st.name
        # the search branch reuses the template's tokens (SOTS forward_track_nlp_sear)
        search = torch.from_numpy(io["search"])
        _, used = net.features("template", template, net.arch, lang)
        via_cache, _ = net.features("search", search, net.arch, selectors=cache.selectors)
        via_lang, _ = net.features("search", search, net.arch, stage_lang=used)
        for a, b in zip(via_cache, via_lang, strict=True):
            assert torch.isfinite(a).all() and torch.equal(a, b)


def test_mixed_batch_uses_tokens_only_where_text_is_missing() -> None:
    """Rows with text keep the sentence path; rows without take the token (as if run alone)."""
    space = load_space(SPACES / "vlt_scar.yaml")
    torch.manual_seed(0)
    net = build_supernet(space).eval()
    arch = space.sample(random.Random(0))
    t = torch.randn(2, 3, 127, 127)
    emb = torch.randn(2, space.mixer.language_dim)
    boxes = torch.tensor([[30.0, 30.0, 90.0, 100.0], [10.0, 20.0, 60.0, 70.0]])
    mixed = LanguageInput(emb, torch.tensor([True, False]), torch.tensor([True, True]), boxes)
    with torch.no_grad():
        both = net.template(t, arch, mixed).selectors
        text = net.template(t[:1], arch, LanguageInput(emb[:1], torch.tensor([True]))).selectors
        alone = net.template(t[1:], arch, LanguageInput(emb[1:], torch.tensor([False]), torch.tensor([True]),
                                                        boxes[1:])).selectors
    for st, sel in both.items():
        assert torch.allclose(sel[:1], text[st], atol=1e-5)
        assert torch.allclose(sel[1:], alone[st], atol=1e-5)
