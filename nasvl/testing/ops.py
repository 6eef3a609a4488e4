"""Conformance suite for ops (like `nasvl.testing.strategies`): import it to test your own.

Every check takes a registered op name and raises AssertionError on a violation. Run all of
them for every registered op::

    import pytest
    from nasvl.ops import op_names
    from nasvl.testing.ops import CHECKS

    @pytest.mark.parametrize("name", op_names())
    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_op_conformance(name, check):
        check(name)

What an op promises the engine: at every layer its `rejects` accepts, it builds, maps
`(N, in, H, W)` to `(N, out, ceil(H/stride), ceil(W/stride))` for odd and even sizes, the cost
model's MACs (its analytic `macs(h, w)` where it has one) equal the multiply-adds a real forward
performs, and a subnet extracted from a supernet that holds it computes what the supernet computes.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from nasvl.cost.model import op_macs, op_params
from nasvl.ops import OpSpec, build_op, op_rejects
from nasvl.space import parse_space_text
from nasvl.supernet import build_supernet

# The layer kinds a space can ask for: a stride-2 widening layer (a stage's first), a stride-1
# widening layer with a declared projection, and a stride-1 layer that keeps its width.
LAYER_KINDS: dict[str, OpSpec] = {
    "stride2_widen": OpSpec(16, 32, stride=2),
    "stride1_projection": OpSpec(16, 32, stride=1, projection=True),
    "stride1_keep": OpSpec(32, 32, stride=1),
}
SIZES = ((16, 16), (15, 9))  # even and odd: "same" padding must give ceil(size / stride)


def accepted_kinds(name: str) -> dict[str, OpSpec]:
    """The layer kinds `name` accepts; an op that accepts none is useless in any space."""
    return {kind: spec for kind, spec in LAYER_KINDS.items() if op_rejects(name, spec) is None}


def _counted_macs(module: torch.nn.Module, x: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(x)
    return counter.get_total_flops() // 2  # one multiply-add is two flops


def check_usable_somewhere(name: str) -> None:
    assert accepted_kinds(name), f"op {name!r} rejects every layer kind {sorted(LAYER_KINDS)}"


def check_rejections_are_enforced(name: str) -> None:
    for kind, spec in LAYER_KINDS.items():
        reason = op_rejects(name, spec)
        if reason is None:
            continue
        assert isinstance(reason, str) and reason.strip(), f"{name!r} at {kind}: a rejection must say why"
        try:
            build_op(name, spec)
        except ValueError as exc:
            assert reason in str(exc), f"{name!r} at {kind}: the build error should carry the reason"
        else:
            raise AssertionError(f"{name!r} at {kind}: built although its rejects() refuses it")


def check_shapes_and_stride(name: str) -> None:
    for kind, spec in accepted_kinds(name).items():
        op = build_op(name, spec).eval()
        for h, w in SIZES:
            out = op(torch.randn(2, spec.in_channels, h, w))
            want = (2, spec.out_channels, math.ceil(h / spec.stride), math.ceil(w / spec.stride))
            assert tuple(out.shape) == want, f"{name!r} at {kind} on {h}x{w}: output {tuple(out.shape)}, want {want}"
            assert torch.isfinite(out).all(), f"{name!r} at {kind}: non-finite output"


def check_macs_match_a_real_forward(name: str) -> None:
    for kind, spec in accepted_kinds(name).items():
        op = build_op(name, spec).eval()
        for h, w in SIZES:
            counted = _counted_macs(op, torch.randn(1, spec.in_channels, h, w))
            claimed = op_macs(name, spec, h, w)
            assert claimed == counted, f"{name!r} at {kind} on {h}x{w}: cost model says {claimed} MACs, " \
                                       f"a forward performs {counted}"


def check_params_match_the_module(name: str) -> None:
    for kind, spec in accepted_kinds(name).items():
        real = sum(p.numel() for p in build_op(name, spec).parameters())
        assert op_params(name, spec) == real, f"{name!r} at {kind}: cost model params differ from the module's"


def _space_with(name: str) -> tuple[str, dict[str, str]]:
    """A two-stage backbone space offering `name` beside shuffle3 wherever it fits, and an
    architecture choosing it at every such layer."""
    kinds = accepted_kinds(name)
    other = "shuffle5" if name == "shuffle3" else "shuffle3"
    in_stage1 = {"stride2_widen", "stride1_keep"} <= kinds.keys()
    in_stage2 = "stride1_keep" in kinds
    stage1 = f"[{other}, {name}]" if in_stage1 else f"[{other}]"
    stage2 = f"[{other}, {name}]" if in_stage2 else f"[{other}]"
    text = f"""\
name: conformance
branches:
  template: {{input: 32}}
backbone:
  stem: {{channels: 16, kernel: 3, stride: 2}}
  stages:
    stage1: {{channels: 32, depth: 2, stride: 2, ops: {stage1}}}
    stage2: {{channels: 32, depth: 1, stride: 1, ops: {stage2}}}
"""
    chosen = {}
    if in_stage1:
        chosen.update({"template.stage1.0": name, "template.stage1.1": name})
    if in_stage2:
        chosen["template.stage2.0"] = name
    return text, chosen


def check_extraction_matches_supernet(name: str) -> None:
    text, chosen = _space_with(name)
    if not chosen:
        return  # the op fits no layer of a plain backbone stage (check_usable_somewhere says why)
    space = parse_space_text(text, "conformance.yaml")
    arch = space.arch({b.path: chosen.get(b.path, b.options[0]) for b in space.free_blocks})
    torch.manual_seed(0)
    supernet = build_supernet(space).train()
    with torch.no_grad():
        for _ in range(3):  # move BN statistics away from their initial values
            supernet(torch.randn(4, 3, 32, 32), arch=arch)
    supernet.eval()
    subnet = supernet.extract(arch).eval()
    extra = set(subnet.state_dict()) - set(supernet.state_dict())
    assert not extra, f"{name!r}: the subnet has keys the supernet lacks: {sorted(extra)[:3]}"
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        want, got = supernet(x, arch=arch), subnet(x)
    for i, (a, b) in enumerate(zip(want, got, strict=True)):
        torch.testing.assert_close(b, a, msg=lambda m, i=i: f"{name!r}: stage {i} after extraction: {m}")


CHECKS: list[Callable[[str], None]] = [
    check_usable_somewhere,
    check_rejections_are_enforced,
    check_shapes_and_stride,
    check_macs_match_a_real_forward,
    check_params_match_the_module,
    check_extraction_matches_supernet,
]
