"""The one build path from a `SearchSpace` to a network.

`build_network(space)` builds the weight-sharing supernet; `build_network(space,
arch)` builds the same module tree holding only the ops `arch` chooses, so the
subnet's state-dict keys are a subset of the supernet's and extraction is a
plain copy. `Supernet` and `Subnet` are thin wrappers over one `Network`.

Weight sharing between branches (`share_weights: true`, as in the official
code): the template and search paths use one module tree, so a layer where both
pick the same op uses the same weights (and BN statistics).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from nasvl.ops import build_op
from nasvl.space import Architecture, ChoiceBlock, SearchSpace
from nasvl.space.tracker import TRACKERS, TrackerPlugin
from nasvl.supernet.mixer import (
    LanguageInput,
    LanguageNorm,
    ModaMixer,
    StageLanguage,
    TemplateEmbedder,
    TemplateToken,
    stage_language,
)

SHARED = "shared"


@dataclass
class TemplateCache:
    """What `Network.template` computes once per video and `Network.search` reuses every frame."""

    feats: list[torch.Tensor]
    head_state: Any
    selectors: dict[str, torch.Tensor] = field(default_factory=dict)


class ChoiceLayer(nn.Module):
    """The candidate ops of one layer; `forward(x, op)` runs exactly one of them."""

    def __init__(self, options: list[str], slot: ChoiceBlock, affine: bool) -> None:
        super().__init__()
        self.ops = nn.ModuleDict({name: build_op(name, slot.op_spec(affine)) for name in options})

    def forward(self, x: torch.Tensor, op: str) -> torch.Tensor:
        return self.ops[op](x)


class Stem(nn.Sequential):
    def __init__(self, channels: int, kernel: int, stride: int, affine: bool) -> None:
        super().__init__(
            nn.Conv2d(3, channels, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(channels, affine=affine),
            nn.ReLU(inplace=True),
        )


def _needed_ops(space: SearchSpace, arch: Mapping[str, str] | None, slots: list[ChoiceBlock]) -> list[str]:
    """Options a (possibly shared) layer must hold: all of them, or just those `arch` picks."""
    out: list[str] = []
    for slot in slots:
        chosen = slot.options if arch is None else (space.resolve(arch)[slot.path],)
        out.extend(op for op in chosen if op not in out)
    return out


class Network(nn.Module):
    def __init__(self, space: SearchSpace, arch: Architecture | None = None, affine: bool = False) -> None:
        super().__init__()
        self.space = space
        self.affine = affine
        keys = [SHARED] if space.share_weights else list(space.branches)
        self.stems = nn.ModuleDict({k: Stem(space.stem.channels, space.stem.kernel, space.stem.stride, affine)
                                    for k in keys})
        self.layers = nn.ModuleDict()
        for key in keys:
            per_stage = nn.ModuleDict()
            for st in space.stages:
                layer_list = nn.ModuleList()
                for i in range(st.depth):
                    branches = space.branches if key == SHARED else (key,)
                    slots = [space.slot(f"{b}.{st.name}.{i}") for b in branches]
                    layer_list.append(ChoiceLayer(_needed_ops(space, arch, slots), slots[0], affine))
                per_stage[st.name] = layer_list
            self.layers[key] = per_stage
        self.mixers = nn.ModuleDict()
        self.template_embedders = nn.ModuleDict()
        if space.mixer is not None:
            m = space.mixer
            for mkey in ([SHARED] if m.shared else list(space.branches)):
                branches = space.branches if mkey == SHARED else (mkey,)
                self.mixers[mkey] = nn.ModuleDict()
                for st_name in m.stages:
                    post = [space.slot(f"{b}.{st_name}.post") for b in branches]
                    pre_layer = None
                    if m.placement == "after":
                        pre = [space.slot(f"{b}.{st_name}.pre") for b in branches]
                        pre_layer = ChoiceLayer(_needed_ops(space, arch, pre), pre[0], affine)
                    self.mixers[mkey][st_name] = ModaMixer(
                        space.stage(st_name).channels, m.language_dim, pre_layer,
                        ChoiceLayer(_needed_ops(space, arch, post), post[0], affine), m.projection,
                    )
            net_stride = max(st.out_stride for st in space.stages)
            for st_name in m.stages:
                st = space.stage(st_name)
                self.template_embedders[st_name] = (
                    TemplateToken(st.channels, net_stride) if m.template_token == "official"
                    else TemplateEmbedder(st.channels, m.language_dim, st.out_stride))
        # Only with the option: spaces without it keep their state-dict keys (old exports load).
        self.language_norm = (LanguageNorm(space.mixer.language_norm, space.mixer.language_dim)
                              if space.mixer is not None and space.mixer.language_norm != "none" else None)
        self.plugin: TrackerPlugin | None = None
        self.head: nn.Module | None = None
        if space.tracker is not None:
            self.plugin = TRACKERS.get(space.tracker.name)(space.tracker.options, space)
            self.head = self.plugin.build_head([st.channels for st in space.stages])

    # ---- backbone -----------------------------------------------------------------------
    def mixer(self, branch: str, stage: str) -> ModaMixer | None:
        """The mixer `branch` runs at `stage` (one module for every branch when mixers are shared)."""
        m = self.space.mixer
        if m is None or stage not in m.stages:
            return None
        return self.mixers[SHARED if m.shared else branch][stage]  # type: ignore[return-value]

    def features(self, branch: str, x: torch.Tensor, arch: Mapping[str, str],
                 lang: LanguageInput | None = None,
                 stage_lang: dict[str, StageLanguage] | None = None,
                 selectors: dict[str, torch.Tensor] | None = None,
                 ) -> tuple[list[torch.Tensor], dict[str, StageLanguage]]:
        """Per-stage features of one branch, and the per-stage language it used.

        The template branch resolves language from `lang` (computing the template fallback for
        samples without text); the search branch reuses it through `stage_lang`, or the cached
        channel selectors through `selectors`.
        """
        ops = self.space.resolve(arch)
        key = SHARED if self.space.share_weights else branch
        if lang is not None and self.language_norm is not None:
            lang = self.language_norm(lang)
        last_is_pre = self.space.mixer is not None and self.space.mixer.placement == "last_layer"
        x = self.stems[key](x)
        feats: list[torch.Tensor] = []
        used: dict[str, StageLanguage] = {}
        for st in self.space.stages:
            layers = self.layers[key][st.name]
            mixer = self.mixer(branch, st.name)
            # Official placement: the last layer runs beside the mixer, on the same input.
            body = len(layers) - 1 if mixer is not None and last_is_pre else len(layers)
            for i in range(body):
                x = layers[i](x, ops[f"{branch}.{st.name}.{i}"])
            if mixer is not None:
                if selectors is not None:
                    selector = selectors[st.name]
                else:
                    if stage_lang is not None:
                        resolved = stage_lang[st.name]
                    else:
                        resolved = stage_language(lang, x, self.space.mixer.language_dim,  # type: ignore[union-attr]
                                                  self.template_embedders[st.name])  # type: ignore[arg-type]
                    used[st.name] = resolved
                    selector = resolved.selector(mixer)
                mixed = mixer.mixed(x, selector, ops[f"{branch}.{st.name}.post"])
                if mixer.pre is None:
                    x = layers[body](x, ops[f"{branch}.{st.name}.{body}"]) + mixed
                else:
                    x = mixed + mixer.pre(x, ops[f"{branch}.{st.name}.pre"])
            feats.append(x)
        return feats, used

    # ---- the two phases of a Siamese tracker: the only place they are written ------------
    def template(self, template: torch.Tensor, arch: Mapping[str, str],
                 lang: LanguageInput | None = None) -> TemplateCache:
        """Everything template-side, once per video: stage features, the head's template state
        (neck, resize, crop) and the search branch's language selectors."""
        feats, stage_lang = self.features("template", template, arch, lang)
        selectors: dict[str, torch.Tensor] = {}
        for st_name, resolved in stage_lang.items():
            mixer = self.mixer("search", st_name)
            if mixer is not None:
                selectors[st_name] = resolved.selector(mixer)
        head_state = None
        if self.plugin is not None and self.head is not None:
            head_state = self.plugin.head_template(self.head, feats)
        return TemplateCache(feats, head_state, selectors)

    def search(self, search: torch.Tensor, cache: TemplateCache,
               arch: Mapping[str, str]) -> dict[str, torch.Tensor]:
        """Per-frame work: the search branch with cached selectors, then the head on cached template state."""
        if self.plugin is None or self.head is None:
            raise TypeError(f"space {self.space.name!r} has no tracker; call features() instead")
        feats, _ = self.features("search", search, arch, selectors=cache.selectors if self.mixers else None)
        return self.plugin.head_search(self.head, cache.head_state, feats)

    def track_forward(self, template: torch.Tensor, search: torch.Tensor, arch: Mapping[str, str],
                      lang: LanguageInput | None = None) -> dict[str, torch.Tensor]:
        if self.plugin is None or self.head is None:
            raise TypeError(f"space {self.space.name!r} has no tracker; call features() instead")
        return self.search(search, self.template(template, arch, lang), arch)


class Supernet(Network):
    """The weight-sharing network: `forward(..., arch)` runs only the chosen op in every block."""

    def forward(self, *inputs: torch.Tensor, arch: Mapping[str, str],
                lang: LanguageInput | None = None) -> dict[str, torch.Tensor] | list[torch.Tensor]:
        if self.head is None:
            (x,) = inputs
            return self.features(self.space.branches[0], x, arch, lang)[0]
        template, search = inputs
        return self.track_forward(template, search, arch, lang)

    def extract(self, arch: Architecture, affine: bool = False) -> Subnet:
        """A standalone network holding only `arch`'s ops, with the supernet's weights copied."""
        subnet = Subnet(self.space, arch, affine=False)
        own = self.state_dict()
        subnet.load_state_dict({k: own[k].clone() for k in subnet.state_dict()}, strict=True)
        subnet.train(self.training)
        if affine:
            subnet.to_affine_bn()
        return subnet


class Subnet(Network):
    """One fixed architecture with its own weights; loads and runs without the supernet."""

    def __init__(self, space: SearchSpace, arch: Architecture, affine: bool = False) -> None:
        super().__init__(space, arch, affine)
        self.arch = arch

    def forward(self, *inputs: torch.Tensor,
                lang: LanguageInput | None = None) -> dict[str, torch.Tensor] | list[torch.Tensor]:
        if self.head is None:
            (x,) = inputs
            return self.features(self.space.branches[0], x, self.arch, lang)[0]
        template, search = inputs
        return self.track_forward(template, search, self.arch, lang)

    def to_affine_bn(self) -> Subnet:
        """Swap non-affine BN for affine BN (γ=1, β=0, statistics kept) so retraining can learn scale/shift."""
        for module in list(self.modules()):
            for name, child in list(module.named_children()):
                if isinstance(child, nn.BatchNorm2d) and not child.affine:
                    bn = nn.BatchNorm2d(child.num_features, eps=child.eps, momentum=child.momentum, affine=True)
                    bn.running_mean.copy_(child.running_mean)
                    bn.running_var.copy_(child.running_var)
                    bn.num_batches_tracked.copy_(child.num_batches_tracked)
                    bn.to(child.running_mean.device)
                    setattr(module, name, bn)
        self.affine = True
        return self


def build_supernet(space: SearchSpace) -> Supernet:
    """The one build function from a space to its supernet (tracker spaces include the head)."""
    return Supernet(space)
