"""Params and MACs of any architecture, computed from the space without running the network.

Each (op, layer shape, input resolution) is priced once — params by building the
op on the `meta` device (no memory, no compute), MACs from the op's analytic
`macs(h, w)` — and an architecture's cost is a sum of table lookups, so
constraints can be checked for thousands of candidates per second.

Conventions: MACs are Conv2d/Linear multiply-adds for one template + one search
image (batch 1), as in SPOS/LightTrack tables. Params count unique tensors: a
shared layer where both branches pick the same op counts once. The tracker head
does not depend on the architecture; it is priced once per space with torch's
FlopCounterMode on zero inputs of the right shapes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nasvl.ops import OpSpec, build_op
from nasvl.ops.counting import conv_out
from nasvl.space import Architecture, ChoiceBlock, SearchSpace
from nasvl.supernet.network import SHARED


@dataclass(frozen=True)
class Cost:
    params: int
    macs: int
    parts: dict[str, dict[str, int]] = field(default_factory=dict)  # part -> {params, macs}

    def as_dict(self) -> dict[str, Any]:
        return {"params": self.params, "macs": self.macs, "parts": self.parts}


@functools.lru_cache(maxsize=4096)
def _op_params(op: str, spec: OpSpec) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in build_op(op, spec).parameters())


@functools.lru_cache(maxsize=16384)
def _op_macs(op: str, spec: OpSpec, h: int, w: int) -> int:
    with torch.device("meta"):
        module = build_op(op, spec)
    if hasattr(module, "macs"):
        return int(module.macs(h, w))
    return _counted_macs(module, (1, spec.in_channels, h, w))


def _counted_macs(module: nn.Module, shape: tuple[int, ...]) -> int:
    """Fallback for user ops without an analytic `macs`: count on a meta-device forward."""
    counter = FlopCounterMode(display=False)
    with torch.device("meta"), counter, torch.no_grad():
        module.to("meta")(torch.zeros(shape))
    return counter.get_total_flops() // 2


class CostModel:
    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self._res: dict[str, dict[str, tuple[int, int]]] = {}  # branch -> slot path -> input (h, w)
        self._stage_res: dict[str, dict[str, int]] = {}        # branch -> stage -> output size
        for branch, size in space.inputs:
            stem_conv = nn.Conv2d(3, 1, space.stem.kernel, space.stem.stride, space.stem.kernel // 2)
            h = conv_out(size, stem_conv, 0)
            res: dict[str, tuple[int, int]] = {}
            self._stage_res[branch] = {}
            for st in space.stages:
                for i in range(st.depth):
                    res[f"{branch}.{st.name}.{i}"] = (h, h)
                    if i == 0:
                        probe = nn.Conv2d(1, 1, 3, st.stride, 1)
                        h = conv_out(h, probe, 0)
                res[f"{branch}.{st.name}.pre"] = res[f"{branch}.{st.name}.post"] = (h, h)
                self._stage_res[branch][st.name] = h
            self._res[branch] = res
        self._head: tuple[int, int] | None = None

    @classmethod
    def for_space(cls, space: SearchSpace) -> CostModel:
        return _cost_model_for(space.hash, space)

    def stage_sizes(self, branch: str) -> dict[str, int]:
        return dict(self._stage_res[branch])

    # ---- parts ------------------------------------------------------------------------------
    def _slot_cost(self, slot: ChoiceBlock, op: str) -> tuple[int, int]:
        h, w = self._res[slot.branch][slot.path]
        spec = slot.op_spec()
        return _op_params(op, spec), _op_macs(op, spec, h, w)

    def _stem(self, branch: str) -> tuple[int, int]:
        s = self.space.stem
        size = self.space.input_size(branch)
        conv = nn.Conv2d(3, s.channels, s.kernel, s.stride, s.kernel // 2, bias=False)
        ho = conv_out(size, conv, 0)
        return 3 * s.channels * s.kernel * s.kernel, ho * ho * s.channels * 3 * s.kernel * s.kernel

    def head_cost(self) -> tuple[int, int]:
        if self.space.tracker is None:
            return 0, 0
        if self._head is None:
            from nasvl.tracking.plugin import TRACKERS

            plugin = TRACKERS.get(self.space.tracker.name)(self.space.tracker.options, self.space)
            head = plugin.build_head([st.channels for st in self.space.stages]).eval()
            params = sum(p.numel() for p in head.parameters())
            feats = {
                b: [torch.zeros(1, st.channels, self._stage_res[b][st.name], self._stage_res[b][st.name])
                    for st in self.space.stages]
                for b in ("template", "search")
            }
            counter = FlopCounterMode(display=False)
            with counter, torch.no_grad():
                plugin.head_forward(head, feats["template"], feats["search"])
            self._head = (params, counter.get_total_flops() // 2)
        return self._head

    def cost(self, arch: Architecture) -> Cost:
        ops = self.space.resolve(arch)
        parts: dict[str, dict[str, int]] = {}
        seen: set[tuple[str, str, str]] = set()  # unique (module key, stage.layer, op) for params
        total_params = 0

        def add(part: str, params: int, macs: int, unique_key: tuple[str, str, str] | None = None) -> None:
            nonlocal total_params
            p = parts.setdefault(part, {"params": 0, "macs": 0})
            p["params"] += params
            p["macs"] += macs
            if unique_key is None or unique_key not in seen:
                total_params += params
                if unique_key is not None:
                    seen.add(unique_key)

        shared = self.space.share_weights
        for branch in self.space.branches:
            key = SHARED if shared else branch
            sp, sm = self._stem(branch)
            add(f"{branch}.backbone", sp, sm, (key, "stem", "stem"))
        for slot in self.space.slots:
            p, m = self._slot_cost(slot, ops[slot.path])
            if slot.kind == "layer":
                key = SHARED if shared else slot.branch
                add(f"{slot.branch}.backbone", p, m, (key, f"{slot.stage}.{slot.index}", ops[slot.path]))
            else:
                add("mixers", p, m)
        if self.space.mixer is not None:
            d = self.space.mixer.language_dim
            for st_name in self.space.mixer.stages:
                c = self.space.stage(st_name).channels
                for _ in self.space.branches:
                    add("mixers", d * c + c, d * c)
                add("mixers", c * d + d, 0)  # template-embedding projection: runs only without text
        hp, hm = self.head_cost()
        if self.space.tracker is not None:
            add("head", hp, hm)
        return Cost(total_params, sum(p["macs"] for p in parts.values()), parts)

    def params(self, arch: Architecture) -> int:
        return self.cost(arch).params

    def macs(self, arch: Architecture) -> int:
        return self.cost(arch).macs

    def satisfies(self, arch: Architecture, latency_ms: float | None = None) -> bool:
        """Whether `arch` meets the space's constraints (latency only when a measured value is given)."""
        c = self.space.constraints
        if not c.any:
            return True
        cost = self.cost(arch)
        if c.max_params is not None and cost.params > c.max_params:
            return False
        if c.max_macs is not None and cost.macs > c.max_macs:
            return False
        return not (c.max_latency_ms is not None and latency_ms is not None and latency_ms > c.max_latency_ms)


_MODELS: dict[str, CostModel] = {}


def _cost_model_for(space_hash: str, space: SearchSpace) -> CostModel:
    if space_hash not in _MODELS:
        _MODELS[space_hash] = CostModel(space)
    return _MODELS[space_hash]
