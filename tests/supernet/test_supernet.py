from __future__ import annotations

import random

import pytest
import torch

from nasvl.ops import SPOS_CHOICES, OpSpec, build_op
from nasvl.space import load_space, parse_space_text
from nasvl.supernet import LanguageInput, build_supernet, path_modules, recalibrate_bn, roi_pool
from tests.conftest import SPACES, TINY_BACKBONE


def _inputs(space, batch=2):
    t = torch.randn(batch, 3, space.input_size("template"), space.input_size("template"))
    s = torch.randn(batch, 3, space.input_size("search"), space.input_size("search"))
    return t, s


def _lang(dim, batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return LanguageInput(torch.randn(batch, dim, generator=g), torch.ones(batch, dtype=torch.bool))


def _both(net, arch, t, s, lang):
    tf, stage_lang = net.features("template", t, arch, lang)
    sf, _ = net.features("search", s, arch, stage_lang=stage_lang)
    return tf + sf


def test_spos_parity_counts() -> None:
    space = load_space(SPACES / "spos_shufflenet.yaml")
    net = build_supernet(space)
    stem = sum(p.numel() for p in net.stems.parameters())
    blocks = sum(p.numel() for p in net.layers.parameters())
    assert (stem, blocks) == (432, 6_708_384)
    all_s3 = space.arch({b.path: "shuffle3" for b in space.free_blocks})
    assert sum(p.numel() for p in net.extract(all_s3).layers.parameters()) == 1_452_656


def test_supernet_bn_is_non_affine_and_subnet_can_switch(tiny_backbone) -> None:
    net = build_supernet(tiny_backbone)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and not any(bn.affine for bn in bns)
    arch = tiny_backbone.sample(random.Random(0))
    sub = net.extract(arch, affine=True)
    assert all(m.affine for m in sub.modules() if isinstance(m, torch.nn.BatchNorm2d))


@pytest.mark.parametrize("share", [True, False])
def test_extraction_matches_supernet_path(share: bool) -> None:
    space = parse_space_text(TINY_BACKBONE.replace("share_weights: true", f"share_weights: {str(share).lower()}"))
    net = build_supernet(space)
    # Give BN non-trivial statistics so eval mode really uses them.
    t, s = _inputs(space, 4)
    rng = random.Random(0)
    for _ in range(3):
        _both(net.train(), space.sample(rng), t, s, _lang(12, 4))
    net.eval()
    for seed in range(3):
        arch = space.sample(random.Random(seed))
        sub = net.extract(arch).eval()
        lang = _lang(12, 4, seed)
        with torch.no_grad():
            want = _both(net, arch, t, s, lang)
            got = _both(sub, sub.arch, t, s, lang)
        for w, g in zip(want, got, strict=True):
            assert torch.allclose(w, g, atol=1e-5)
        assert sum(p.numel() for p in sub.parameters()) < sum(p.numel() for p in net.parameters())


def test_weight_sharing_switch_changes_parameter_count(tiny_backbone) -> None:
    shared = build_supernet(tiny_backbone)
    separate = build_supernet(parse_space_text(TINY_BACKBONE.replace("share_weights: true", "share_weights: false")))
    n_shared = sum(p.numel() for p in shared.layers.parameters()) + sum(p.numel() for p in shared.stems.parameters())
    n_sep = sum(p.numel() for p in separate.layers.parameters()) + sum(p.numel() for p in separate.stems.parameters())
    assert n_sep == 2 * n_shared
    # Shared: both branches choosing one op in one layer run the same module.
    arch = tiny_backbone.arch({**tiny_backbone.sample(random.Random(0)).to_dict(),
                               "template.stage1.0": "shuffle5", "search.stage1.0": "shuffle5"})
    sub = shared.extract(arch)
    assert list(sub.layers["shared"]["stage1"][0].ops) == ["shuffle5"]


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_gradient_isolation_leaves_off_path_ops_bit_identical(tiny_backbone, optimizer: str) -> None:
    net = build_supernet(tiny_backbone).train()
    params = [p for p in net.parameters()]
    opt = (torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-3) if optimizer == "sgd"
           else torch.optim.AdamW(params, lr=0.1, weight_decay=1e-2))
    t, s = _inputs(tiny_backbone)
    rng = random.Random(0)
    # Step on a first path so momentum buffers exist, then check a second path's step.
    for arch in (tiny_backbone.sample(rng), tiny_backbone.sample(rng)):
        before = {n: p.detach().clone() for n, p in net.named_parameters()}
        opt.zero_grad(set_to_none=True)
        sum(f.mean() for f in _both(net, arch, t, s, _lang(12))).backward()
        opt.step()
        on_path = {n for name, m in path_modules(net, arch) for n, _ in
                   ((f"{name}.{pn}" if name else pn, p) for pn, p in m.named_parameters(recurse=False))}
        changed = {n for n, p in net.named_parameters() if not torch.equal(p, before[n])}
        assert changed, "nothing trained"
        assert changed <= on_path, f"off-path parameters moved: {sorted(changed - on_path)[:5]}"
        for n, p in net.named_parameters():
            if n not in on_path:
                assert p.grad is None, n


def test_language_changes_features_and_zero_text_is_the_zeros_mode(tiny_backbone) -> None:
    net = build_supernet(tiny_backbone).eval()
    arch = tiny_backbone.sample(random.Random(0))
    t, s = _inputs(tiny_backbone)
    with torch.no_grad():
        a = _both(net, arch, t, s, _lang(12, seed=1))[-1]
        b = _both(net, arch, t, s, _lang(12, seed=2))[-1]
        none = _both(net, arch, t, s, LanguageInput.none(2, 12))[-1]
        zero_vec = _both(net, arch, t, s, LanguageInput(torch.zeros(2, 12), torch.ones(2, dtype=torch.bool)))[-1]
        absent = _both(net, arch, t, s, None)[-1]
    assert not torch.allclose(a, b)
    assert torch.allclose(none, zero_vec) and torch.allclose(none, absent)


def test_template_fallback_is_per_sample(tiny_backbone) -> None:
    net = build_supernet(tiny_backbone).eval()
    arch = tiny_backbone.sample(random.Random(0))
    t, s = _inputs(tiny_backbone, 3)
    emb = torch.randn(3, 12)
    box = torch.tensor([[16.0, 16.0, 47.0, 47.0]] * 3)
    mixed = LanguageInput(emb, torch.tensor([True, False, False]), torch.tensor([False, True, False]), box)
    text_only = LanguageInput(emb, torch.ones(3, dtype=torch.bool))
    zeros = LanguageInput.none(3, 12)
    templ = LanguageInput(emb, torch.zeros(3, dtype=torch.bool), torch.ones(3, dtype=torch.bool), box)
    with torch.no_grad():
        out = _both(net, arch, t, s, mixed)[-1]
        ref_text = _both(net, arch, t, s, text_only)[-1]
        ref_zero = _both(net, arch, t, s, zeros)[-1]
        ref_templ = _both(net, arch, t, s, templ)[-1]
    assert torch.allclose(out[0], ref_text[0], atol=1e-6)
    assert torch.allclose(out[1], ref_templ[1], atol=1e-6)
    assert torch.allclose(out[2], ref_zero[2], atol=1e-6)
    assert not torch.allclose(ref_templ[1], ref_zero[1])


def test_roi_pool_uses_each_stage_stride() -> None:
    # A feature whose value is its x index: the pooled mean is the box centre in feature units.
    for stride in (4, 8):
        w = 64 // stride
        feat = torch.arange(w, dtype=torch.float32).repeat(1, 1, w, 1)
        box = torch.tensor([[16.0, 8.0, 48.0, 40.0]])
        pooled = roi_pool(feat, box, stride).item()
        assert pooled == pytest.approx(32.0 / stride - 0.5, abs=1e-5)


def test_recalibrate_bn_resets_only_the_path(tiny_backbone) -> None:
    net = build_supernet(tiny_backbone)
    t, s = _inputs(tiny_backbone)
    rng = random.Random(0)
    for _ in range(4):
        _both(net.train(), tiny_backbone.sample(rng), t, s, None)
    arch = tiny_backbone.sample(rng)
    on_path = {id(m) for _, m in path_modules(net, arch)}
    before = {id(m): m.running_mean.clone() for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)}
    batches = [(torch.randn(2, 3, 63, 63),) for _ in range(3)]
    net.eval()
    used = recalibrate_bn(net, arch, batches, forward=lambda n, b: n.features("template", b[0], arch))
    assert used == 3 and not net.training  # the caller's mode is restored
    for m in net.modules():
        if not isinstance(m, torch.nn.BatchNorm2d):
            continue
        if id(m) in on_path:
            # Reset, then re-estimated by the 3 template batches (search-only ops stay reset).
            assert m.num_batches_tracked.item() in (0, 3) and m.momentum == 0.1
        else:
            assert torch.equal(m.running_mean, before[id(m)])
    assert net.stems["shared"][1].num_batches_tracked.item() == 3


@pytest.mark.parametrize("op", SPOS_CHOICES)
def test_spos_op_shapes(op: str) -> None:
    for spec, shape in [(OpSpec(16, 64, 2), (1, 64, 8, 8)), (OpSpec(64, 64, 1), (1, 64, 16, 16)),
                        (OpSpec(160, 320, 1, projection=True), (1, 320, 16, 16))]:
        x = torch.randn(1, spec.in_channels, 16, 16)
        assert build_op(op, spec)(x).shape == shape


def test_a_seed_builds_the_same_weights_whatever_was_parsed_before() -> None:
    """Parsing and costing a space (cached per process) must not consume the global RNG: a Ray
    worker that parsed the space already would otherwise build other initial weights from one seed."""
    text = (SPACES / "tiny.yaml").read_text().replace("name: tiny", "name: tiny_rng_probe")  # not cached yet
    weights = []
    for _ in range(2):
        torch.manual_seed(0)
        net = build_supernet(parse_space_text(text, "tiny_rng_probe.yaml"))
        weights.append(net.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
