"""Every tracker head (tiny variants): supernet forward/backward, equal outputs after extraction, losses."""

from __future__ import annotations

import pytest
import torch

from nasvl.testing.trackers import conformance_inputs as _inputs
from tests.trackers.conftest import TINY, sample_arch, tiny_supernet


@pytest.mark.parametrize("space_file", sorted(TINY))
def test_forward_backward_and_extract(space_file: str) -> None:
    net, space = tiny_supernet(space_file)
    assert net.plugin is not None and type(net.plugin).uses_language == TINY[space_file][1]
    arch = sample_arch(space)
    z, x, lang, batch = _inputs(space)
    net.train()
    out = net(z, x, arch=arch, lang=lang)
    losses = net.plugin.loss(out, batch)
    assert set(losses) >= {"total"} and all(torch.isfinite(v) for v in losses.values())
    losses["total"].backward()
    head_grads = [p.grad for p in net.head.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in head_grads)
    assert any(float(g.abs().sum()) > 0 for g in head_grads)

    net.eval()
    subnet = net.extract(arch).eval()
    with torch.no_grad():
        a = net(z, x, arch=arch, lang=lang)
        b = subnet(z, x, lang=lang)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-5)
    subnet.train()
    sub_out = subnet(z, x, lang=lang)
    net.plugin.loss(sub_out, batch)["total"].backward()
    assert all(p.grad is not None for p in subnet.head.parameters())


@pytest.mark.parametrize("space_file", ["tiny.yaml", "tiny_tt.yaml"])
def test_loss_decreases_on_a_fixed_batch(space_file: str) -> None:
    net, space = tiny_supernet(space_file, seed=1)
    arch = sample_arch(space, seed=1)
    z, x, lang, batch = _inputs(space)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    first = last = None
    for _ in range(8):
        opt.zero_grad()
        loss = net.plugin.loss(net(z, x, arch=arch, lang=lang), batch)["total"]
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
        last = loss.item()
    assert last < first


@pytest.mark.parametrize("space_file", ["tiny.yaml", "tiny_tt.yaml"])
def test_all_negative_batch_has_finite_loss_and_full_graph(space_file: str) -> None:
    net, space = tiny_supernet(space_file)
    z, x, lang, batch = _inputs(space)
    batch["negative"] = torch.ones(2, dtype=torch.bool)
    out = net(z, x, arch=sample_arch(space), lang=lang)
    losses = net.plugin.loss(out, batch)
    assert all(torch.isfinite(v) for v in losses.values())
    losses["total"].backward()


def test_scar_targets_follow_siamcar() -> None:
    from trackers.scar_loss import centerness_target, scar_targets

    box = torch.tensor([[100.0, 100.0, 156.0, 140.0]])
    pos, ltrb = scar_targets(box, torch.tensor([False]), 25, 25, 8, 255, 0.6)
    assert pos.any()
    # every positive lies in the central 40% of the box and has positive distances to all sides
    assert (ltrb[pos] > 0).all()
    assert (centerness_target(ltrb[pos]) <= 1).all()
    pos_neg, _ = scar_targets(box, torch.tensor([True]), 25, 25, 8, 255, 0.6)
    assert not pos_neg.any()


def test_tt_positives_include_a_cell_for_tiny_boxes() -> None:
    from trackers.tt_loss import tt_positives

    tiny_box = torch.tensor([[129.0, 129.0, 130.0, 130.0]])
    pos = tt_positives(tiny_box, torch.tensor([False]), 32, 32, 8, 256)
    assert int(pos.sum()) == 1
