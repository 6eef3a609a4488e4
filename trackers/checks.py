"""Space checks shared by the tracker plugins (`TrackerPlugin.check_space`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nasvl.space import SearchSpace


def siamese_reason(space: SearchSpace, uses_language: bool) -> str | None:
    """Why a two-branch (template/search) tracker cannot wrap `space`, or None."""
    if set(space.branches) != {"template", "search"}:
        return f"needs exactly the branches 'template' and 'search', got {list(space.branches)}"
    if uses_language and space.mixer is None:
        return "a vision-language tracker needs a 'mixer:' section (use the vision-only baseline otherwise)"
    if not uses_language and space.mixer is not None:
        return "a vision-only tracker cannot use a space with a 'mixer:' section (use the VL tracker)"
    return None


def stage_sizes(space: SearchSpace, branch: str) -> dict[str, int]:
    """Output side of every stage for one branch (conv arithmetic, no network built)."""
    from nasvl.cost import CostModel

    return CostModel.for_space(space).stage_sizes(branch)
