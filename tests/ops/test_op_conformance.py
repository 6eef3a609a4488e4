"""Every registered op, ours and the plugins', passes the shipped op conformance suite (nasvl.testing.ops)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasvl.ops import OpSpec, op_names
from nasvl.ops.registry import OPS, OpDef
from nasvl.testing.ops import CHECKS, check_macs_match_a_real_forward, check_shapes_and_stride


@pytest.mark.parametrize("name", op_names())
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_op_conformance(name: str, check) -> None:
    check(name)


class _Widen(nn.Module):
    """A 1×1 conv op whose analytic MAC count lies (off by one output row)."""

    def __init__(self, spec: OpSpec) -> None:
        super().__init__()
        self.conv = nn.Conv2d(spec.in_channels, spec.out_channels, 1, spec.stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    def macs(self, h: int, w: int) -> int:
        s = self.conv.stride[0]
        return (h // s) * ((w + s - 1) // s) * self.conv.in_channels * self.conv.out_channels


@pytest.fixture
def lying_op(monkeypatch) -> str:
    name = "conformance_lying_widen"
    monkeypatch.setitem(OPS._items, name, OpDef(name, _Widen, lambda spec: None))
    return name


def test_the_suite_catches_a_wrong_mac_count(lying_op: str) -> None:
    check_shapes_and_stride(lying_op)  # the shapes are right ...
    with pytest.raises(AssertionError, match="cost model says"):
        check_macs_match_a_real_forward(lying_op)  # ... the count on odd sizes is not
