"""The two ONNX graphs of an exported tracker: `template` (once per video) and `search` (every frame).

    template.onnx:  template (1,3,T,T) [, language (1,d)]  ->  state_0 … state_k
    search.onnx:    search (1,3,S,S), state_0 … state_k     ->  the head's outputs (sorted names)

The state is the template cache the torch path keeps (`TemplateCache.head_state` and the
search branch's language selectors), flattened in a fixed order: the runtime passes the
template graph's outputs to the search graph by name and never needs their structure. Both
graphs are traced from the inference form (BN folded), batch 1, fixed input sizes. `language`
is the sentence embedding, or zeros for a video without a description (the `zeros` fallback).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils._pytree import tree_flatten, tree_unflatten

from nasvl.deploy.runtimes import inference_form
from nasvl.supernet.mixer import LanguageInput
from nasvl.supernet.network import Network, TemplateCache

OPSET = 17


def _language(embedding: torch.Tensor) -> LanguageInput:
    return LanguageInput(embedding, torch.ones(embedding.shape[0], dtype=torch.bool))


class TemplateGraph(nn.Module):
    def __init__(self, net: Network, arch: Mapping[str, str]) -> None:
        super().__init__()
        self.net, self.arch = net, arch
        self.uses_language = net.space.mixer is not None

    def state(self, z: torch.Tensor, language: torch.Tensor | None = None) -> TemplateCache:
        return self.net.template(z, self.arch, _language(language) if language is not None else None)

    def forward(self, z: torch.Tensor, language: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        cache = self.state(z, language)
        return tuple(tree_flatten((cache.head_state, cache.selectors))[0])


class SearchGraph(nn.Module):
    def __init__(self, net: Network, arch: Mapping[str, str], spec: Any, outputs: list[str]) -> None:
        super().__init__()
        self.net, self.arch, self.spec, self.outputs = net, arch, spec, outputs

    def forward(self, x: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        head_state, selectors = tree_unflatten(list(state), self.spec)
        out = self.net.search(x, TemplateCache([], head_state, selectors), self.arch)
        return tuple(out[k] for k in self.outputs)


def export_module(module: nn.Module, args: tuple[torch.Tensor, ...], path: Path, inputs: list[str],
                  outputs: list[str]) -> None:
    """Trace `module(*args)` into an ONNX file (batch 1, fixed sizes, constants folded)."""
    with warnings.catch_warnings():
        # The TorchScript exporter needs no onnxscript and handles every op the heads use; torch
        # warns that it is the legacy path and about traced Python branches on constant shapes.
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs,
                          opset_version=OPSET, dynamo=False, do_constant_folding=True)


@torch.no_grad()
def export_graphs(net: Network, arch: Mapping[str, str], out_dir: Path) -> dict[str, Any]:
    """Write template.onnx and search.onnx of `net` into `out_dir`; the graphs' part of the manifest."""
    space = net.space
    form = inference_form(net.cpu().eval())
    t, s = space.input_size("template"), space.input_size("search")
    g = torch.Generator().manual_seed(0)
    z = torch.rand(1, 3, t, t, generator=g) * 255
    x = torch.rand(1, 3, s, s, generator=g) * 255
    template = TemplateGraph(form, arch)
    t_args: tuple[torch.Tensor, ...] = (z,)
    t_inputs = ["template"]
    if template.uses_language:
        t_args = (z, torch.randn(1, space.mixer.language_dim, generator=g))  # type: ignore[union-attr]
        t_inputs.append("language")
    cache = template.state(*t_args)
    leaves, spec = tree_flatten((cache.head_state, cache.selectors))
    state = [f"state_{i}" for i in range(len(leaves))]
    outputs = sorted(form.search(x, cache, arch))
    export_module(template, t_args, out_dir / "template.onnx", t_inputs, state)
    export_module(SearchGraph(form, arch, spec, outputs), (x, *leaves), out_dir / "search.onnx", ["search", *state],
            outputs)
    return {"opset": OPSET, "template": {"file": "template.onnx", "inputs": t_inputs, "outputs": state},
            "search": {"file": "search.onnx", "inputs": ["search", *state], "outputs": outputs},
            "sizes": {"template": t, "search": s},
            "language_dim": space.mixer.language_dim if space.mixer else 0}
