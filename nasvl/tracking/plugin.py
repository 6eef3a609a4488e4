"""The tracker plugin contract: what a space's `tracker:` section names.

A plugin turns backbone stage features into tracker outputs (a head), scores
them for training (a loss), and wraps an exported network for inference. The
engine knows plugins only through the `TRACKERS` registry, filled from the
`nasvl.trackers` entry-point group (the repo's `trackers/` package, or a user's).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from nasvl.registry import Registry

if TYPE_CHECKING:
    from nasvl.space import SearchSpace


@dataclass(frozen=True)
class NoOptions:
    """Options dataclass for plugins that take none."""


class TrackerPlugin(ABC):
    """Subclass, set `Options` to a frozen dataclass, and register with `@register_tracker(name)`."""

    Options: ClassVar[type] = NoOptions
    uses_language: ClassVar[bool] = True

    def __init__(self, options: Any, space: SearchSpace) -> None:
        self.options = options
        self.space = space

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
