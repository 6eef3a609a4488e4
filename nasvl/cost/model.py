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
from nasvl.space.tracker import TRACKERS
from nasvl.supernet.network import SHARED


@dataclass(frozen=True)
class Cost:
    params: int
    macs: int
    parts: dict[str, dict[str, int]] = field(default_factory=dict)  # part -> {params, macs}
    per_frame_macs: int = 0  # MACs of one tracked frame: template-side work is cached at initialize

    def as_dict(self) -> dict[str, Any]:
        return {"params": self.params, "macs": self.macs, "per_frame_macs": self.per_frame_macs,
                "parts": self.parts}


@functools.lru_cache(maxsize=4096)
def op_params(op: str, spec: OpSpec) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in build_op(op, spec).parameters())


@functools.lru_cache(maxsize=16384)
def op_macs(op: str, spec: OpSpec, h: int, w: int) -> int:
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
            with torch.device("meta"):  # geometry only: no weights, and the global RNG stays untouched
                stem_conv = nn.Conv2d(3, 1, space.stem.kernel, space.stem.stride, space.stem.kernel // 2)
            h = conv_out(size, stem_conv, 0)
            res: dict[str, tuple[int, int]] = {}
            self._stage_res[branch] = {}
            for st in space.stages:
                for i in range(st.depth):
                    res[f"{branch}.{st.name}.{i}"] = (h, h)
                    if i == 0:
                        with torch.device("meta"):
                            probe = nn.Conv2d(1, 1, 3, st.stride, 1)
                        h = conv_out(h, probe, 0)
                res[f"{branch}.{st.name}.pre"] = res[f"{branch}.{st.name}.post"] = (h, h)
                self._stage_res[branch][st.name] = h
            self._res[branch] = res
        self._head: dict[str, dict[str, int]] | None = None

    @classmethod
    def for_space(cls, space: SearchSpace) -> CostModel:
        return _cost_model_for(space.hash, space)

    def stage_sizes(self, branch: str) -> dict[str, int]:
        return dict(self._stage_res[branch])

    # ---- parts ------------------------------------------------------------------------------
    def _slot_cost(self, slot: ChoiceBlock, op: str) -> tuple[int, int]:
        h, w = self._res[slot.branch][slot.path]
        spec = slot.op_spec()
        return op_params(op, spec), op_macs(op, spec, h, w)

    def _stem(self, branch: str) -> tuple[int, int]:
        s = self.space.stem
        size = self.space.input_size(branch)
        with torch.device("meta"):
            conv = nn.Conv2d(3, s.channels, s.kernel, s.stride, s.kernel // 2, bias=False)
        ho = conv_out(size, conv, 0)
        return 3 * s.channels * s.kernel * s.kernel, ho * ho * s.channels * 3 * s.kernel * s.kernel

    def head_cost(self) -> tuple[int, int]:
        """(params, MACs) of the whole tracker head, necks included, for one template + one search."""
        parts = self.head_parts()
        return (sum(p["params"] for p in parts.values()),
                sum(p["macs_template"] + p["macs_search"] for p in parts.values()))

    def head_parts(self) -> dict[str, dict[str, int]]:
        """`neck` and `head` (the rest): params, template-side MACs (once per video), search-side MACs."""
        if self.space.tracker is None:
            return {}
        if self._head is None:
            plugin = TRACKERS.get(self.space.tracker.name)(self.space.tracker.options, self.space)
            with torch.random.fork_rng(devices=[]):  # costing a space must not change what a seed builds
                head = plugin.build_head([st.channels for st in self.space.stages]).eval()
            feats = {
                b: [torch.zeros(1, st.channels, self._stage_res[b][st.name], self._stage_res[b][st.name])
                    for st in self.space.stages]
                for b in ("template", "search")
            }
            necks = {n: m for n, m in head.named_modules() if n.split(".")[0].startswith("neck")}
            out = {k: {"params": 0, "macs_template": 0, "macs_search": 0} for k in ("neck", "head")}
            for name, p in head.named_parameters():
                out["neck" if name.split(".")[0].startswith("neck") else "head"]["params"] += p.numel()
            neck_macs = [0]

            def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
                if isinstance(module, nn.Conv2d):
                    k = module.kernel_size[0] * module.kernel_size[1]
                    neck_macs[0] += output.numel() * module.in_channels * k // module.groups

            handles = [m.register_forward_hook(hook) for m in necks.values()]
            try:
                phases = {"template": lambda: plugin.head_template(head, feats["template"])}
                with torch.no_grad():
                    state = plugin.head_template(head, feats["template"])
                phases["search"] = lambda: plugin.head_search(head, state, feats["search"])
                for phase, run in phases.items():
                    counter = FlopCounterMode(display=False)
                    neck_macs[0] = 0
                    with counter, torch.no_grad():
                        run()
                    total = counter.get_total_flops() // 2
                    out["neck"][f"macs_{phase}"] = neck_macs[0]
                    out["head"][f"macs_{phase}"] = total - neck_macs[0]
            finally:
                for h in handles:
                    h.remove()
            self._head = out
        return self._head

    def cost(self, arch: Architecture) -> Cost:
        ops = self.space.resolve(arch)
        parts: dict[str, dict[str, int]] = {}
        seen: set[tuple[str, str, str]] = set()  # unique (module key, stage.layer, op) for params
        total_params = 0
        template_macs = 0  # work done once per video (template branch, language, template neck)

        def add(part: str, params: int, macs: int, unique_key: tuple[str, str, str] | None = None,
                once_in_part: bool = False) -> None:
            nonlocal total_params
            p = parts.setdefault(part, {"params": 0, "macs": 0})
            new = unique_key is None or unique_key not in seen
            if new or not once_in_part:
                p["params"] += params
            p["macs"] += macs
            if new:
                total_params += params
                if unique_key is not None:
                    seen.add(unique_key)

        shared = self.space.share_weights
        mixer = self.space.mixer
        for branch in self.space.branches:
            key = SHARED if shared else branch
            sp, sm = self._stem(branch)
            add(f"{branch}.backbone", sp, sm, (key, "stem", "stem"))
            template_macs += sm if branch == "template" else 0
        for slot in self.space.slots:
            p, m = self._slot_cost(slot, ops[slot.path])
            template_macs += m if slot.branch == "template" else 0
            if slot.kind == "layer":
                key = SHARED if shared else slot.branch
                add(f"{slot.branch}.backbone", p, m, (key, f"{slot.stage}.{slot.index}", ops[slot.path]))
            else:
                # Shared mixers (official VLT): one block per stage and op, whatever branch runs it.
                key = SHARED if mixer is not None and mixer.shared else slot.branch
                add("mixers", p, m, (key, f"{slot.stage}.{slot.kind}", ops[slot.path]), once_in_part=True)
        if mixer is not None:
            d = mixer.language_dim
            for st_name in mixer.stages:
                c = self.space.stage(st_name).channels
                proj = d * c + (2 * c if mixer.projection == "conv_bn" else c)
                for branch in (["shared"] if mixer.shared else self.space.branches):
                    # The projection runs once per video; its selector is cached for the search branch.
                    add("language", proj, d * c, ("language", st_name, branch))
                    template_macs += d * c
                # template fallback (runs only without text): pooled projection, or official conv3×3+BN
                add("language", 9 * c * c + 3 * c if mixer.template_token == "official" else c * d + d, 0)
        for part, c in self.head_parts().items():
            add(part, c["params"], c["macs_template"] + c["macs_search"])
            template_macs += c["macs_template"]
        macs = sum(p["macs"] for p in parts.values())
        return Cost(total_params, macs, parts, macs - template_macs)

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
