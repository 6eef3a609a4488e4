"""The full-size spaces: score-map size, head pricing through the cost model, the ResNet-50 layout."""

from __future__ import annotations

import torch

from nasvl.bench.trackers import PAPER_CAND, paper_backbone
from nasvl.cost import CostModel
from nasvl.space import from_cand, load_space
from nasvl.supernet import Subnet
from tests.conftest import SPACES


def test_vlt_scar_score_map_is_25x25_on_the_meta_device() -> None:
    space = load_space(SPACES / "vlt_scar.yaml")
    arch = from_cand(space, PAPER_CAND)
    assert space.tracker is not None
    with torch.device("meta"):
        net = Subnet(space, arch).eval()
        out = net(torch.zeros(1, 3, 127, 127), torch.zeros(1, 3, 255, 255))
    assert out["cls"].shape == (1, 2, 25, 25)
    assert out["cen"].shape == (1, 1, 25, 25) and out["ltrb"].shape == (1, 4, 25, 25)
    assert net.plugin.score_size() == 25 and net.plugin.stride == 8


def test_heads_are_priced_by_the_cost_model() -> None:
    space = load_space(SPACES / "vlt_scar.yaml")
    cost = CostModel(space).cost(from_cand(space, PAPER_CAND))
    head = cost.parts["head"]
    # The official figures: down 768·256 + 8 tower convs 256·256·9 + outputs; separate template and
    # search necks 2 × (160+320+640)·256 + BN.
    assert (head["params"], cost.parts["neck"]["params"]) == (4_937_735, 576_512)
    assert head["macs"] > 3e9  # the CAR towers on the 25×25 map dominate
    assert cost.parts["mixers"]["params"] == 306_256  # shared post blocks, counted once
    assert (cost.parts["search.backbone"]["params"], cost.parts["template.backbone"]["params"]) == (1_808_320, 1_716_464)
    # The official 5.63 G (template side cached) counts convolutions only; nasvl also counts the
    # bicubic 32→31 resizes, which it runs as two matrix products per map (about 68 M).
    assert 5_630_000_000 <= cost.per_frame_macs <= 5_630_000_000 * 1.015
    tt = load_space(SPACES / "vlt_tt.yaml")
    assert CostModel(tt).cost(from_cand(tt, PAPER_CAND)).parts["head"]["macs"] > 0


def test_siamcar_resnet50_layout() -> None:
    space = load_space(SPACES / "siamcar_resnet50.yaml")
    assert space.size == 1 and [st.out_stride for st in space.stages] == [4, 8, 8, 8]
    cost = CostModel(space).cost(space.arch({}))
    backbone = cost.parts["search.backbone"]["params"]
    # ResNet-50's convolutional trunk holds 23.5M parameters (its BN here is non-affine).
    assert 23_000_000 < backbone < 23_600_000
    siamcar = load_space(SPACES / "siamcar.yaml")
    vlt = load_space(SPACES / "vlt_scar.yaml")
    arch = paper_backbone(siamcar, vlt)
    assert CostModel(siamcar).cost(arch).macs < CostModel(space).cost(space.arch({})).macs / 3


def test_bottleneck_macs_match_a_counted_forward() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    from nasvl.ops import OpSpec, build_op

    for spec in (OpSpec(64, 256, 2), OpSpec(256, 256, 1), OpSpec(512, 1024, 1, projection=True)):
        op = build_op("bottleneck", spec).eval()
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            y = op(torch.zeros(1, spec.in_channels, 16, 16))
        assert y.shape == (1, spec.out_channels, 16 // spec.stride, 16 // spec.stride)
        assert op.macs(16, 16) == counter.get_total_flops() // 2
