"""Timing one piece of a network, or a whole architecture, under the runtime it will be deployed with.

A latency figure is only worth what its runtime is: the plain network (`torch-plain`, as trained
and as the search tracks), the inference form (`torch`, BN folded, `inference_mode`), or the ONNX
graphs run by onnxruntime in fp32 (`onnx`) or statically quantised int8 (`onnx-int8`). The names
are `nasvl.deploy.runtimes.RUNTIMES`.

* `OpTimer(runtime)(module, inputs)` times one piece: a layer's chosen op, a stem, the per-frame
  head. Under the torch runtimes the piece runs as is (plain) or folded; under ONNX it is exported
  as a graph of its own (int8: calibrated on its own input) and run by a session.
* `measure_arch_ms(net, arch, runtime=...)` times the per-frame network of one architecture, the
  search branch and head on a cached template, through the same engines the trackers use.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nasvl.deploy.runtimes import Engine, TorchEngine, check_device, check_runtime, inference_form
from nasvl.errors import ConfigError
from nasvl.supernet.mixer import LanguageInput
from nasvl.supernet.network import Network, Supernet


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn: Callable[[], object], device: torch.device | str = "cpu", repeats: int = 20,
            warmup: int = 3) -> float:
    """Median wall time of `fn()` in milliseconds (median: robust to scheduler noise on small CPUs)."""
    device = torch.device(device)
    for _ in range(warmup):
        fn()
    sync(device)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def _as_tuple(out: Any) -> tuple[torch.Tensor, ...]:
    if isinstance(out, torch.Tensor):
        return (out,)
    if isinstance(out, Mapping):
        return tuple(out[k] for k in sorted(out))
    return tuple(t for item in out for t in _as_tuple(item))


class _Traceable(nn.Module):
    """`module(*inputs)` with tensor outputs flattened to a tuple, as the ONNX exporter wants them."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return _as_tuple(self.module(*inputs))


class OpTimer:
    """Median milliseconds of one piece of a network under `runtime`, on the CPU unless torch on `device`."""

    def __init__(self, runtime: str, device: torch.device | str = "cpu", repeats: int = 10,
                 threads: int | None = None) -> None:
        self.runtime = check_runtime(runtime)
        self.device = torch.device(device)
        check_device(runtime, device)
        self.repeats = repeats
        self.threads = threads or torch.get_num_threads()

    @torch.no_grad()
    def __call__(self, module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
        if self.runtime == "torch-plain":
            return time_ms(lambda: module(*inputs), self.device, self.repeats)
        form = inference_form(module)
        if self.runtime == "torch":
            with torch.inference_mode():
                return time_ms(lambda: form(*inputs), self.device, self.repeats)
        return self._onnx_ms(form, inputs)

    def _onnx_ms(self, form: nn.Module, inputs: tuple[torch.Tensor, ...]) -> float:
        from nasvl.deploy.graphs import export_module
        from nasvl.deploy.int8 import quantize_graph
        from nasvl.deploy.ort import open_session

        names = [f"input_{i}" for i in range(len(inputs))]
        feed = {n: t.detach().cpu().numpy().astype(np.float32) for n, t in zip(names, inputs, strict=True)}
        outputs = [f"output_{i}" for i in range(len(_as_tuple(form(*inputs))))]
        with tempfile.TemporaryDirectory(prefix="nasvl-op-") as tmp:
            folder = Path(tmp)
            export_module(_Traceable(form), inputs, folder / "op.onnx", names, outputs)
            name, level = "op.onnx", "all"
            if self.runtime == "onnx-int8":
                # The piece's own input calibrates it: the ranges decide accuracy, not the kernels' speed.
                info = quantize_graph(folder / "op.onnx", folder / "op.int8.onnx", [feed], folder)
                name, level = "op.int8.onnx", info["optimization"]
            session = open_session(folder, name, self.threads, level)
            used = {i.name for i in session.get_inputs()}  # the exporter drops inputs a piece ignores
            feed = {k: v for k, v in feed.items() if k in used}
            return time_ms(lambda: session.run(None, feed), "cpu", self.repeats)


def _probe_language(net: Network, device: torch.device) -> LanguageInput | None:
    """A fixed sentence embedding, so the mixers' selectors are on (their cost does not depend on it)."""
    if net.space.mixer is None:
        return None
    vector = torch.randn(1, net.space.mixer.language_dim, generator=torch.Generator().manual_seed(1))
    return LanguageInput(vector.to(device), torch.ones(1, dtype=torch.bool, device=device))


def _probe_template(net: Network, device: torch.device) -> torch.Tensor:
    size = net.space.input_size("template")
    return (torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0)) * 255).to(device)


def _engine(net: Network, arch: Mapping[str, str], runtime: str, workdir: Path, threads: int | None) -> Engine:
    """The tracker's engine for `arch` under `runtime` (ONNX graphs are written into `workdir`)."""
    if runtime == "torch-plain":  # the supernet's own path, as the search tracks it: nothing to copy
        return TorchEngine(net, arch, plain=True)
    # Folding or exporting copies the network: copy only the architecture's path. Building the
    # copy initialises weights it then overwrites; the fork keeps that off the caller's RNG stream.
    with torch.random.fork_rng(devices=[]):
        subnet = (net.extract(arch) if isinstance(net, Supernet) else net).eval()
    if runtime == "torch":
        return TorchEngine(subnet, arch)
    from nasvl.deploy.ort import OrtEngine, export_onnx
    from nasvl.export import save_subnet

    export = save_subnet(subnet.cpu(), workdir / "export")
    export_onnx(export)
    if runtime == "onnx":
        return OrtEngine(export, threads=threads)
    fp32 = OrtEngine(export, threads=threads)
    cpu = torch.device("cpu")
    state = fp32.template(_probe_template(subnet, cpu), _probe_language(subnet, cpu))
    size = subnet.space.input_size("search")
    g = torch.Generator().manual_seed(2)
    feeds = [fp32.feed(torch.rand(1, 3, size, size, generator=g) * 255, state) for _ in range(4)]
    export_onnx(export, int8=True, calibration=feeds)
    return OrtEngine(export, int8=True, threads=threads)


@torch.no_grad()
def measure_arch_ms(net: Network, arch: Mapping[str, str], device: torch.device | str = "cpu",
                    repeats: int = 10, runtime: str = "torch-plain", threads: int | None = None) -> float:
    """Measured per-frame latency of one architecture under `runtime`: search branch + head on a cached
    template (the per-frame work of a tracker); a backbone-only space times its one branch."""
    check_runtime(runtime)
    device = torch.device(device)
    space = net.space
    net = net.to(device).eval()
    if net.head is None:
        if runtime != "torch-plain":
            raise ConfigError(f"space {space.name!r} has no tracker head: only runtime 'torch-plain' times a "
                              f"backbone alone (got {runtime!r})")
        branch = space.branches[0]
        size = space.input_size(branch)
        x = torch.randn(1, 3, size, size, device=device)
        lang = _probe_language(net, device)
        return time_ms(lambda: net.features(branch, x, arch, lang), device, repeats)
    check_device(runtime, device)
    size = space.input_size("search")
    x = (torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(3)) * 255).to(device)
    with tempfile.TemporaryDirectory(prefix="nasvl-latency-") as tmp:
        engine = _engine(net, arch, runtime, Path(tmp), threads)
        state = engine.template(_probe_template(net, device), _probe_language(net, device))
        return time_ms(lambda: engine.search(x, state), device, repeats)
