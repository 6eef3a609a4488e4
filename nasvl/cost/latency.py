"""Latency from a per-op lookup table measured on the current device.

Per-frame tracking latency is what matters for a tracker: the template branch
runs once per video, so the table prices the *search* branch (stem, every
layer/op at its resolution, the mixers) plus the head. For a backbone-only
space it prices the single branch. `validate()` reports the table's error
against the measured whole-network latency of sampled architectures.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nasvl.config.yamldoc import load_json_text, read_text_bounded
from nasvl.errors import ConfigError
from nasvl.io import atomic_write_json
from nasvl.space import Architecture, SearchSpace
from nasvl.supernet.mixer import LanguageInput
from nasvl.supernet.network import SHARED, Supernet


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@torch.no_grad()
def time_ms(fn: Callable[[], object], device: torch.device, repeats: int = 20, warmup: int = 3) -> float:
    """Median wall time of `fn()` in milliseconds (median: robust to scheduler noise on small CPUs)."""
    for _ in range(warmup):
        fn()
    _sync(device)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


@dataclass
class LatencyTable:
    space_hash: str
    device: str
    branch: str
    fixed_ms: float                        # stem + head (+ mixer linears), architecture-independent
    ops_ms: dict[str, dict[str, float]] = field(default_factory=dict)  # slot path -> op -> ms

    def predict(self, arch: Architecture, space: SearchSpace) -> float:
        ops = space.resolve(arch)
        return self.fixed_ms + sum(self.ops_ms[path][ops[path]] for path in self.ops_ms)

    def save(self, path: str | Path) -> None:
        atomic_write_json(path, self.__dict__)

    @classmethod
    def load(cls, path: str | Path) -> LatencyTable:
        text, name = read_text_bounded(path, "latency table (JSON)")
        data = load_json_text(text, name)
        fields = {"space_hash", "device", "branch", "fixed_ms", "ops_ms"}
        if not isinstance(data, dict) or set(data) != fields:
            raise ConfigError(f"a latency table is a JSON object with keys {', '.join(sorted(fields))}", file=name)
        return cls(**data)


def _branch(space: SearchSpace) -> str:
    return "search" if space.tracker is not None else space.branches[0]


@torch.no_grad()
def measure_table(net: Supernet, device: torch.device | str = "cpu", repeats: int = 10) -> LatencyTable:
    device = torch.device(device)
    space = net.space
    branch = _branch(space)
    net = net.to(device).eval()
    key = SHARED if space.share_weights else branch
    size = space.input_size(branch)
    x = torch.randn(1, 3, size, size, device=device)
    fixed = time_ms(lambda: net.stems[key](x), device, repeats)
    feat = net.stems[key](x)
    table: dict[str, dict[str, float]] = {}
    for st in space.stages:
        for i, layer in enumerate(net.layers[key][st.name]):
            slot = space.slot(f"{branch}.{st.name}.{i}")
            inp = feat
            table[slot.path] = {op: time_ms(lambda op=op, m=layer, x=inp: m(x, op), device, repeats)
                               for op in slot.options}
            feat = layer(inp, slot.options[0])
        mixer = net.mixer(branch, st.name)
        if mixer is not None:
            f_l = torch.zeros(1, space.mixer.language_dim, device=device)  # type: ignore[union-attr]
            fixed += time_ms(lambda m=mixer, v=f_l: m.select(v), device, repeats)
            blocks = [("post", mixer.post)] + ([("pre", mixer.pre)] if mixer.pre is not None else [])
            for kind, module in blocks:
                slot = space.slot(f"{branch}.{st.name}.{kind}")
                inp = feat
                table[slot.path] = {op: time_ms(lambda op=op, m=module, x=inp: m(x, op), device, repeats)
                                    for op in slot.options}
    if net.head is not None and net.plugin is not None:
        arch = space.sample(random.Random(0))
        t_size = space.input_size("template")
        t_feats, _ = net.features("template", torch.randn(1, 3, t_size, t_size, device=device), arch)
        s_feats, _ = net.features("search", x, arch)
        fixed += time_ms(lambda: net.plugin.head_forward(net.head, t_feats, s_feats), device, repeats)
    return LatencyTable(space.hash, str(device), branch, fixed, table)


@torch.no_grad()
def measure_arch_ms(net: Supernet, arch: Architecture, device: torch.device | str = "cpu",
                    repeats: int = 10) -> float:
    """Measured per-frame latency of one architecture (search branch + head; template cached)."""
    device = torch.device(device)
    space = net.space
    branch = _branch(space)
    net = net.to(device).eval()
    size = space.input_size(branch)
    x = torch.randn(1, 3, size, size, device=device)
    lang = None
    if space.mixer is not None:
        lang = LanguageInput(torch.randn(1, space.mixer.language_dim, device=device),
                             torch.ones(1, dtype=torch.bool, device=device))
    if net.head is None:
        return time_ms(lambda: net.features(branch, x, arch, lang), device, repeats)
    t_size = space.input_size("template")
    cache = net.template(torch.randn(1, 3, t_size, t_size, device=device), arch, lang)
    return time_ms(lambda: net.search(x, cache, arch), device, repeats)


def validate(net: Supernet, table: LatencyTable, samples: int = 5, seed: int = 0,
             repeats: int = 10) -> dict[str, Any]:
    """Predicted vs measured latency on sampled architectures, with the mean absolute % error."""
    rng = random.Random(seed)
    rows = []
    for _ in range(samples):
        arch = net.space.sample(rng)
        predicted = table.predict(arch, net.space)
        measured = measure_arch_ms(net, arch, table.device, repeats)
        rows.append({"arch": arch.key, "predicted_ms": predicted, "measured_ms": measured,
                     "error_pct": 100 * (predicted - measured) / measured})
    return {"rows": rows, "mean_abs_error_pct": statistics.mean(abs(r["error_pct"]) for r in rows)}
