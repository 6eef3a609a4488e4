"""Candidate operations. Importing this package registers the built-in ops."""

from __future__ import annotations

from nasvl.ops import basic, mobilenet, shufflenet  # noqa: F401  (registration side effects)
from nasvl.ops.registry import OPS, OpSpec, build_op, op_names, op_rejects, register_op
from nasvl.ops.shufflenet import SPOS_CHOICES

__all__ = ["OPS", "OpSpec", "SPOS_CHOICES", "build_op", "op_names", "op_rejects", "register_op"]
