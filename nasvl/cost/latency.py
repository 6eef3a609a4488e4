"""Latency from a per-op lookup table measured under the runtime the tracker will be deployed with.

Per-frame tracking latency is what matters for a tracker: the template branch runs once per
video, so the table prices the *search* branch (stem, every layer/op at its resolution, the
mixers' blocks) plus the per-frame head. For a backbone-only space it prices the single branch.

Every piece is timed under one runtime (`nasvl.cost.timing.OpTimer`: plain or folded torch, ONNX
fp32 or int8), so a table predicts the latency of that runtime. A sum of pieces timed alone misses
what runs between them (dispatch, concatenations, copies; onnxruntime's per-call cost instead
*adds* to each piece), so `calibrate()` fits the table's constant to the whole-network
latency of a few architectures under the same runtime: prediction = fixed_ms + Σ op_ms.
`validate()` reports the error against whole-network latency on architectures not used to fit.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nasvl.config.yamldoc import load_json_text, read_text_bounded
from nasvl.cost.timing import OpTimer, measure_arch_ms
from nasvl.errors import ConfigError
from nasvl.io import atomic_write_json
from nasvl.space import Architecture, SearchSpace
from nasvl.supernet.network import SHARED, Supernet


class _Call(torch.nn.Module):
    """`module(x, op)` as a one-input module, so every runtime can time (or export) one op alone."""

    def __init__(self, module: torch.nn.Module, op: str) -> None:
        super().__init__()
        self.module, self.op = module, op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x, self.op)


class _HeadSearch(torch.nn.Module):
    """The per-frame head on a cached template state (what a tracker runs every frame)."""

    def __init__(self, net: Supernet, state: object) -> None:
        super().__init__()
        self.head, self.plugin, self.state = net.head, net.plugin, state

    def forward(self, *search_feats: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.plugin.head_search(self.head, self.state, list(search_feats))  # type: ignore[union-attr]


TABLE_KEYS = {"space_hash", "device", "branch", "runtime", "fixed_ms", "ops_ms", "calibration"}


@dataclass
class LatencyTable:
    space_hash: str
    device: str
    branch: str
    runtime: str                           # what the pieces were timed under (nasvl.deploy.runtimes)
    fixed_ms: float                        # stem + per-frame head; after calibrate(), the fitted constant
    ops_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # slot path -> op -> ms
    calibration: list[dict[str, object]] = field(default_factory=list)  # the fit's architectures

    def ops_sum(self, arch: Architecture, space: SearchSpace) -> float:
        ops = space.resolve(arch)
        return sum(self.ops_ms[path][ops[path]] for path in self.ops_ms)

    def predict(self, arch: Architecture, space: SearchSpace) -> float:
        return self.fixed_ms + self.ops_sum(arch, space)

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, dataclasses.asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> LatencyTable:
        text, name = read_text_bounded(path, "latency table (JSON)")
        data = load_json_text(text, name)
        if not isinstance(data, dict) or set(data) != TABLE_KEYS:
            raise ConfigError(f"a latency table is a JSON object with keys {', '.join(sorted(TABLE_KEYS))}",
                              file=name)
        return cls(**data)


def _branch(space: SearchSpace) -> str:
    return "search" if space.tracker is not None else space.branches[0]


@torch.no_grad()
def measure_table(net: Supernet, device: torch.device | str = "cpu", repeats: int = 10,
                  runtime: str = "torch-plain", threads: int | None = None) -> LatencyTable:
    """Time every op of every slot of the per-frame branch, the stem and the head under `runtime`."""
    timer = OpTimer(runtime, device, repeats, threads)
    device = timer.device
    space = net.space
    branch = _branch(space)
    net = net.to(device).eval()
    key = SHARED if space.share_weights else branch
    size = space.input_size(branch)
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(3)).to(device) * 255
    fixed = timer(net.stems[key], (x,))
    feat = net.stems[key](x)
    table: dict[str, dict[str, float]] = {}

    def time_slot(path: str, module: torch.nn.Module, options: tuple[str, ...], inp: torch.Tensor) -> None:
        table[path] = {op: timer(_Call(module, op), (inp,)) for op in options}

    for st in space.stages:
        for i, layer in enumerate(net.layers[key][st.name]):
            slot = space.slot(f"{branch}.{st.name}.{i}")
            time_slot(slot.path, layer, slot.options, feat)
            feat = layer(feat, slot.options[0])
        mixer = net.mixer(branch, st.name)
        if mixer is not None:  # its selector is per video (cached); per frame run its blocks
            blocks = [("post", mixer.post)] + ([("pre", mixer.pre)] if mixer.pre is not None else [])
            for kind, module in blocks:
                slot = space.slot(f"{branch}.{st.name}.{kind}")
                time_slot(slot.path, module, slot.options, feat)
    if net.head is not None and net.plugin is not None:
        arch = space.sample(random.Random(0))
        t_size = space.input_size("template")
        cache = net.template(torch.rand(1, 3, t_size, t_size, device=device) * 255, arch, None)
        s_feats, _ = net.features("search", x, arch, selectors=cache.selectors if net.mixers else None)
        fixed += timer(_HeadSearch(net, cache.head_state), tuple(s_feats))
    return LatencyTable(space.hash, str(device), branch, runtime, fixed, table)


def calibrate(net: Supernet, table: LatencyTable, archs: list[Architecture], repeats: int = 10,
              threads: int | None = None) -> LatencyTable:
    """`table` with its constant refitted to the whole-network latency of `archs` (same runtime).

    Every architecture of a space runs the same pieces (one op per slot), so what the pieces timed
    alone miss or add (dispatch between them, a session call each) is nearly the same for all of
    them: one constant, the mean residual. A fitted scale as well overfits the timing noise of a
    few architectures whose sums differ by little.
    """
    rows = [{"arch": a.key, "ops_sum_ms": table.ops_sum(a, net.space),
             "measured_ms": measure_arch_ms(net, a, table.device, repeats, table.runtime, threads)} for a in archs]
    constant = statistics.fmean(float(r["measured_ms"]) - float(r["ops_sum_ms"]) for r in rows)
    return dataclasses.replace(table, fixed_ms=constant, calibration=rows)


def sample_archs(space: SearchSpace, n: int, seed: int, exclude: set[str] | frozenset[str] = frozenset()
                 ) -> list[Architecture]:
    """`n` distinct architectures drawn with `seed`, none of whose keys is in `exclude`."""
    rng = random.Random(seed)
    archs: dict[str, Architecture] = {}
    for _ in range(100 * n):
        if len(archs) == n:
            break
        arch = space.sample(rng)
        if arch.key not in exclude:
            archs.setdefault(arch.key, arch)
    return list(archs.values())


def prediction_error(table: LatencyTable, space: SearchSpace, archs: list[Architecture],
                     measured_ms: list[float]) -> dict[str, Any]:
    """The table's predictions for `archs` against their measured latency: rows and mean |error| %."""
    rows = [{"arch": a.key, "predicted_ms": table.predict(a, space), "measured_ms": m,
             "error_pct": 100 * (table.predict(a, space) - m) / m} for a, m in zip(archs, measured_ms, strict=True)]
    return {"runtime": table.runtime, "rows": rows,
            "mean_abs_error_pct": statistics.mean(abs(r["error_pct"]) for r in rows),
            "max_abs_error_pct": max(abs(r["error_pct"]) for r in rows)}


def validate(net: Supernet, table: LatencyTable, samples: int = 5, seed: int = 0,
             repeats: int = 10, threads: int | None = None) -> dict[str, Any]:
    """Predicted vs measured latency (the table's runtime) on sampled architectures. Those the table
    was calibrated on are left out: they would flatter it."""
    archs = sample_archs(net.space, samples, seed, exclude={str(r["arch"]) for r in table.calibration})
    measured = [measure_arch_ms(net, a, table.device, repeats, table.runtime, threads) for a in archs]
    return prediction_error(table, net.space, archs, measured)
