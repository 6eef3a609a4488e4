"""How a tracker's network runs: one `Engine` per runtime, all behind the same two calls.

    state = engine.template(z, lang)     # once per video: template branch, head template state, selectors
    outputs = engine.search(x, state)    # every frame: search branch + head on the cached state

Runtimes:
* `torch`: the inference form of the network: eval-mode BN folded into the convolutions
  (`fold.py`), weights and inputs channels-last when `channels_last` (see `CHANNELS_LAST`), and
  `torch.inference_mode` (no autograd bookkeeping, no version counters).
* `torch-plain`: the network as trained (unfolded, NCHW, `no_grad`): the reference the others
  are tested against, and the search's form for `(supernet, arch)` candidates.
* `onnx` / `onnx-int8`: the graphs `nasvl export-onnx` wrote, run by onnxruntime (`ort.py`).
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, TypeVar

import torch

from nasvl.deploy.fold import fold_batchnorm
from nasvl.errors import ConfigError, known
from nasvl.supernet.mixer import LanguageInput
from nasvl.supernet.network import Network, TemplateCache

M = TypeVar("M", bound=torch.nn.Module)
RUNTIMES = ("torch", "torch-plain", "onnx", "onnx-int8")
# Channels-last is supported (TorchEngine(channels_last=True)) but off: `nasvl bench tracker --runtimes`
# measured it 0.90-1.07x the NCHW inference form's speed on the paper CAND, not consistently faster
# (BENCHMARKS.md, issue 17).
CHANNELS_LAST = False


def check_runtime(runtime: str) -> str:
    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r} {known(RUNTIMES)}")
    return runtime


def check_device(runtime: str, device: str | torch.device) -> None:
    """The ONNX runtimes run on onnxruntime's CPU provider only."""
    if runtime.startswith("onnx") and torch.device(device).type != "cpu":
        raise ConfigError(f"runtime {runtime!r} runs on the CPU (onnxruntime's CPU provider); got device {device}")


class Engine(ABC):
    """The network of one tracker under one runtime."""

    runtime: str

    @abstractmethod
    def template(self, z: torch.Tensor, lang: LanguageInput | None) -> Any:
        """Everything template-side for one video: the state `search` reuses."""

    @abstractmethod
    def search(self, x: torch.Tensor, state: Any) -> dict[str, torch.Tensor]:
        """Head outputs for one search crop."""


def inference_form(net: M, channels_last: bool = CHANNELS_LAST) -> M:
    """A folded, frozen copy of `net` (a network, or one piece of it) for inference; the original
    is left as it is."""
    form = copy.deepcopy(net).eval()
    fold_batchnorm(form)
    for p in form.parameters():
        p.requires_grad_(False)
    if channels_last:
        form = form.to(memory_format=torch.channels_last)
    return form


class TorchEngine(Engine):
    def __init__(self, net: Network, arch: Mapping[str, str], *, plain: bool = False,
                 channels_last: bool = CHANNELS_LAST) -> None:
        self.runtime = "torch-plain" if plain else "torch"
        self.net = net.eval() if plain else inference_form(net, channels_last)
        self.arch = arch
        self.channels_last = channels_last and not plain

    def _context(self) -> Any:
        return torch.no_grad() if self.runtime == "torch-plain" else torch.inference_mode()

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def template(self, z: torch.Tensor, lang: LanguageInput | None) -> TemplateCache:
        with self._context():
            return self.net.template(self._layout(z), self.arch, lang)

    def search(self, x: torch.Tensor, state: TemplateCache) -> dict[str, torch.Tensor]:
        with self._context():
            return self.net.search(self._layout(x), state, self.arch)


def make_engine(runtime: str, net: Network, arch: Mapping[str, str], *, plain: bool = False,
                model_dir: Any = None, language_fallback: str = "zeros",
                device: str | torch.device = "cpu") -> Engine:
    """The engine for `runtime`; `plain` keeps the torch network unfolded."""
    check_runtime(runtime)
    if runtime.startswith("torch"):
        return TorchEngine(net, arch, plain=plain or runtime == "torch-plain")
    from nasvl.deploy.ort import OrtEngine

    if model_dir is None:
        raise ConfigError(f"runtime {runtime!r} needs the export directory holding the ONNX graphs "
                          "(model_dir; `nasvl export-onnx EXPORT_DIR` writes them)")
    check_device(runtime, device)
    if language_fallback == "template":
        raise ConfigError("language_fallback 'template' is not exported to ONNX (the template embedding's "
                          "ROI weights depend on the box); use the torch runtime or the 'zeros' fallback")
    return OrtEngine(model_dir, int8=runtime == "onnx-int8", space=net.space, arch=arch)
