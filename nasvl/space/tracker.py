"""The tracker plugin contract: what a space's `tracker:` section names.

A plugin turns backbone stage features into tracker outputs (a head), scores
them for training (a loss), declares its score-map geometry (stride, score
size), and names its inference tracker with that tracker's hyper-parameter
dataclass and YAML file. The engine knows plugins only through the one
`TRACKERS` registry, filled from the `nasvl.trackers` entry-point group (the
repo's `trackers/` package, or a user's). It lives beside the space because the
space parser, the supernet and the cost model all need it; inference code
(`nasvl.tracking`) sits above them.

Sizes are options, not names: a plugin's `SIZES` maps a `size:` option value to
the defaults it implies (`tracker: {name: vlt_scar, options: {size: tiny}}`);
options the YAML gives still win.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from nasvl.config import Node, parse_dataclass
from nasvl.errors import known
from nasvl.registry import Registry
from nasvl.space.schema import TrackerSpec

if TYPE_CHECKING:
    from nasvl.space import SearchSpace


@dataclass(frozen=True)
class NoOptions:
    """Options dataclass for plugins that take none."""


class TrackerPlugin(ABC):
    """Subclass, set `Options` to a frozen dataclass, and register with `@register_tracker(name)`.

    For `nasvl track`/evaluation also set `inference` (the tracker class: called as
    `inference(network, arch, params, *, embed_text, device, language_fallback)`), `params_cls`
    (its hyper-parameter dataclass) and `params_file` (a YAML of named parameter sets).
    """

    Options: ClassVar[type] = NoOptions
    # `size:` option value -> the option defaults it implies ("full": the dataclass defaults)
    SIZES: ClassVar[dict[str, dict[str, Any]]] = {}
    uses_language: ClassVar[bool] = True
    inference: ClassVar[Callable[..., Any] | None] = None
    # Options that keep the conformance suite (nasvl.testing.trackers) small, e.g. {"size": "tiny"}
    conformance_options: ClassVar[dict[str, Any]] = {}
    params_cls: ClassVar[type | None] = None
    params_file: ClassVar[Path | None] = None

    def __init__(self, options: Any, space: SearchSpace) -> None:
        self.options = options
        self.space = space

    @property
    @abstractmethod
    def stride(self) -> int:
        """Search-image pixels between neighbouring score-map cells."""

    @abstractmethod
    def score_size(self) -> int:
        """Side of the (square) score map for the space's search input."""

    @abstractmethod
    def build_head(self, stage_channels: list[int]) -> nn.Module:
        """The head module; called once per network build with each backbone stage's channels."""

    @abstractmethod
    def head_forward(
        self, head: nn.Module, template_feats: list[torch.Tensor], search_feats: list[torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Tracker outputs from per-stage backbone features of both branches."""

    def head_template(self, head: nn.Module, template_feats: list[torch.Tensor]) -> Any:
        """The head's template-side state, computed once per video (e.g. neck + crop of the kernels).

        The default caches the raw features; override together with `head_search` so that no
        template work repeats on every frame.
        """
        return template_feats

    def head_search(self, head: nn.Module, template_state: Any,
                    search_feats: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        """Per-frame head outputs from the cached template state and the search features."""
        return self.head_forward(head, template_state, search_feats)

    def loss(self, outputs: dict[str, torch.Tensor], batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Loss parts plus their weighted sum under key 'total'."""
        raise NotImplementedError(f"{type(self).__name__} does not define a training loss")

    def check_space(self, space: SearchSpace) -> str | None:
        """Return why this tracker cannot wrap `space` (e.g. too few stages), or None."""
        return None


TRACKERS: Registry[type[TrackerPlugin]] = Registry("tracker", entry_point_group="nasvl.trackers")


def register_tracker(name: str):  # noqa: ANN201 - decorator
    return TRACKERS.register(name)


def parse_tracker(node: Node) -> TrackerSpec | None:
    """A space's `tracker:` section: a registered plugin's name and its options, a `size:` option
    filling in the defaults the plugin's `SIZES` names for it (options given explicitly win)."""
    if node.value is None:
        return None
    node.check_keys({"name", "options"}, {"name"})
    name_node = node.child("name")
    name = name_node.as_str()
    if name not in TRACKERS:
        raise name_node.error(f"unknown tracker {name!r} {known(TRACKERS.names())}")
    plugin = TRACKERS.get(name)
    options_node = node.get("options", {})
    options = parse_dataclass(plugin.Options, options_node)
    size = getattr(options, "size", None)
    if size is not None:
        if size not in plugin.SIZES:
            raise options_node.child("size").error(f"tracker {name!r} has no size {size!r} {known(plugin.SIZES)}")
        given = set(options_node.mapping()) if options_node.value else set()
        options = dataclasses.replace(options, **{k: v for k, v in plugin.SIZES[size].items() if k not in given})
    return TrackerSpec(name, options)
