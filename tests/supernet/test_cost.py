from __future__ import annotations

import random

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nasvl.cost import CostModel
from nasvl.space import load_space
from nasvl.supernet import build_supernet
from tests.conftest import SPACES


def _hook_macs(module: nn.Module, run) -> int:
    """Conv/Linear MACs counted with forward hooks on a real forward pass."""
    total = 0

    def hook(m, inputs, out):
        nonlocal total
        if isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            total += out.shape[2] * out.shape[3] * m.out_channels * (m.in_channels // m.groups) * kh * kw
        elif isinstance(m, nn.Linear):
            total += m.in_features * m.out_features * (inputs[0].numel() // inputs[0].shape[-1])

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in handles:
            h.remove()
    return total


def test_analytic_cost_matches_hooks_on_real_forwards(tiny_backbone) -> None:
    net = build_supernet(tiny_backbone).eval()
    model = CostModel.for_space(tiny_backbone)
    rng = random.Random(0)
    for _ in range(5):
        arch = tiny_backbone.sample(rng)
        sub = net.extract(arch)
        t = torch.randn(1, 3, 63, 63)
        s = torch.randn(1, 3, 127, 127)

        def run(sub=sub, t=t, s=s, arch=arch):
            _, stage_lang = sub.features("template", t, arch, None)
            sub.features("search", s, arch, stage_lang=stage_lang)

        cost = model.cost(arch)
        # The template-embedding projection is priced in params but runs only without text.
        assert cost.params == sum(p.numel() for p in sub.parameters())
        assert cost.macs == _hook_macs(sub, run)
        assert sum(p["macs"] for p in cost.parts.values()) == cost.macs


def test_spos_cost_matches_flop_counter() -> None:
    space = load_space(SPACES / "spos_shufflenet.yaml")
    net = build_supernet(space).eval()
    arch = space.sample(random.Random(1))
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(torch.randn(1, 3, 224, 224), arch=arch)
    cost = CostModel.for_space(space).cost(arch)
    assert cost.macs == counter.get_total_flops() // 2
    assert cost.params == sum(p.numel() for p in net.extract(arch).parameters())


def test_shared_layers_count_once_in_total(tiny_backbone) -> None:
    model = CostModel.for_space(tiny_backbone)
    arch = tiny_backbone.sample(random.Random(0))
    same = tiny_backbone.arch({**arch.to_dict(), **{
        b.path: arch[b.path.replace("template.", "search.", 1)]
        for b in tiny_backbone.free_blocks if b.branch == "template" and b.kind == "layer"}})
    c = model.cost(same)
    assert c.parts["template.backbone"]["params"] == c.parts["search.backbone"]["params"]
    assert c.params == (c.parts["search.backbone"]["params"] + c.parts["mixers"]["params"]
                        + c.parts["language"]["params"])


def test_constraints_filter(tiny_backbone) -> None:
    from nasvl.space import parse_space_text
    from tests.conftest import TINY_BACKBONE

    model = CostModel.for_space(tiny_backbone)
    rng = random.Random(0)
    macs = sorted(model.macs(tiny_backbone.sample(rng)) for _ in range(50))
    limit = macs[25]
    space = parse_space_text(TINY_BACKBONE + f"constraints: {{max_macs: {limit}}}\n", "c.yaml")
    constrained = CostModel.for_space(space)
    verdicts = [constrained.satisfies(a) for a in (space.sample(rng) for _ in range(50))]
    assert any(verdicts) and not all(verdicts)


@pytest.mark.parametrize("mode", ["uniform", "constrained"])
def test_arch_sampler_draws_depend_only_on_seed_and_step(tiny_backbone, mode: str) -> None:
    from nasvl.train.sampling import ArchSampler

    first = [ArchSampler(tiny_backbone, seed=3, mode=mode).sample(step) for step in range(8)]
    again = ArchSampler(tiny_backbone, seed=3, mode=mode)
    assert [again.sample(step) for step in reversed(range(8))] == first[::-1]  # no hidden state: order-free
    other = [ArchSampler(tiny_backbone, seed=4, mode=mode).sample(step) for step in range(8)]
    assert len(set(first)) > 1 and other != first
