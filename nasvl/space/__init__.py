"""Search spaces: YAML DSL, parsed `SearchSpace`, `ChoiceBlock`s and `Architecture`s."""

from __future__ import annotations

from nasvl.space.arch import Architecture, from_cand, load_arch, to_cand
from nasvl.space.parse import load_space, parse_space_dict, parse_space_text
from nasvl.space.schema import (
    ChoiceBlock,
    Constraints,
    MixerSpec,
    SearchSpace,
    StageSpec,
    StemSpec,
    TrackerSpec,
)

__all__ = [
    "Architecture", "ChoiceBlock", "Constraints", "MixerSpec", "SearchSpace", "StageSpec", "StemSpec",
    "TrackerSpec", "from_cand", "load_arch", "load_space", "parse_space_dict", "parse_space_text", "to_cand",
]
