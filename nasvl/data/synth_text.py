"""Natural-sentence descriptions for synthetic targets.

A sentence always names the target's colour and shape: every video has a distractor
that shares one of the two, so only the pair (plus size, texture and motion when they
differ) singles the target out, which is the job language does in VL tracking.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasvl.data.synth_scene import ObjectSpec

_TEXTURE_ADJ = {"plain": "plain", "striped": "striped", "dotted": "spotted", "checkered": "checkered"}
_TEXTURE_NOUN = {"striped": "stripes", "dotted": "dots", "checkered": "a checkered pattern"}


def motion_phrase(centers: np.ndarray, visible: np.ndarray) -> str:
    """How the target moves on screen, from its net displacement and mean speed."""
    pts = centers[visible] if visible.any() else centers
    if len(pts) < 2:
        return "staying still"
    step = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    speed = float(np.median(step))
    dx, dy = pts[-1] - pts[0]
    verb = "drifting" if speed < 1.5 else ("moving" if speed < 4 else "darting")
    if np.hypot(dx, dy) < 25:
        return "hovering in place" if speed < 1.0 else f"{verb} back and forth"
    horiz = "left" if dx < 0 else "right"
    vert = "up" if dy < 0 else "down"
    if abs(dx) > 2 * abs(dy):
        return f"{verb} to the {horiz}"
    if abs(dy) > 2 * abs(dx):
        return f"{verb} {'upward' if dy < 0 else 'downward'}"
    return f"{verb} toward the {'upper' if vert == 'up' else 'lower'} {horiz}"


def describe(rng: np.random.Generator, target: ObjectSpec, others: Sequence[ObjectSpec], motion: str) -> str:
    """One sentence such as "the small red triangle drifting to the left"."""
    confusable = [o for o in others if o.shape == target.shape or o.color == target.color]
    size_matters = any(o.size != target.size for o in confusable)
    size = target.size if (size_matters or rng.random() < 0.4) and target.size != "medium" else ""
    if size_matters and target.size == "medium":
        size = "medium-sized"
    texture = target.texture if target.texture != "plain" or rng.random() < 0.2 else ""
    template = int(rng.integers(4))
    if template == 0 or not texture:
        words = ["the", size, _TEXTURE_ADJ.get(texture, ""), target.color, target.shape, motion]
    elif template == 1 and texture in _TEXTURE_NOUN:
        words = ["the", size, target.color, target.shape, "with", _TEXTURE_NOUN[texture], motion]
    elif template == 2:
        words = ["a", size, _TEXTURE_ADJ[texture], target.color, target.shape, "that keeps", motion]
    else:
        traits = " and ".join(w for w in (size, _TEXTURE_ADJ[texture]) if w)
        return f"the {target.color} {target.shape}, {traits}, {motion}"
    return " ".join(w for w in words if w)
