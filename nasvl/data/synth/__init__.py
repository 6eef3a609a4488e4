"""The embedded synthetic vision-language benchmark: scenes (`scene`), per-video stories with twins,
switches and occlusions (`story`), compositional descriptions (`text`), and the generator
(`generate`), which writes LaSOT layout."""

from __future__ import annotations

from nasvl.data.synth.generate import SynthConfig, generate
from nasvl.data.synth.story import plan_objects

__all__ = ["SynthConfig", "generate", "plan_objects"]
