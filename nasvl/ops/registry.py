"""The op registry: one decorator to register, one function to build.

An op is a factory `(spec: OpSpec) -> nn.Module`. It may declare when it is
applicable (e.g. `skip` only where shapes are preserved); the space parser asks
`op_rejects(name, spec)` so an impossible choice is a located config error
rather than a shape error deep inside a forward pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from nasvl.registry import Registry


@dataclass(frozen=True)
class OpSpec:
    """Everything an op needs to build itself at one layer."""

    in_channels: int
    out_channels: int
    stride: int = 1
    projection: bool = False  # stride-1 layer that still carries a projection branch
    affine: bool = False      # supernet BN is non-affine (SPOS); exported subnets may switch


@dataclass(frozen=True)
class OpDef:
    name: str
    factory: Callable[[OpSpec], nn.Module]
    rejects: Callable[[OpSpec], str | None]


OPS: Registry[OpDef] = Registry("op", entry_point_group="nasvl.ops")


def _accept_all(spec: OpSpec) -> str | None:
    return None


def register_op(
    name: str, *, rejects: Callable[[OpSpec], str | None] = _accept_all
) -> Callable[[Callable[[OpSpec], nn.Module]], Callable[[OpSpec], nn.Module]]:
    """Register an op factory. `rejects(spec)` returns a reason string when the op cannot be used there."""

    def decorator(factory: Callable[[OpSpec], nn.Module]) -> Callable[[OpSpec], nn.Module]:
        OPS.register(name)(OpDef(name, factory, rejects))
        return factory

    return decorator


def build_op(name: str, spec: OpSpec) -> nn.Module:
    op = OPS.get(name)
    reason = op.rejects(spec)
    if reason:
        raise ValueError(f"op {name!r} cannot be used here: {reason}")
    return op.factory(spec)


def op_rejects(name: str, spec: OpSpec) -> str | None:
    return OPS.get(name).rejects(spec)


def op_names() -> list[str]:
    return OPS.names()
