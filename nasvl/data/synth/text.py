"""Compositional descriptions of synthetic targets.

A description is a set of attribute *slots* (colour, shape, size, texture, motion, size
change, position relative to a landmark, appearance switch), each with a value, rendered
through one of several sentence frames with paraphrased wording. Slots × values × frames ×
paraphrases give tens of thousands of distinct sentences, so a model cannot learn the
training sentences as video identities; and because the generator holds some colour–shape
pairs out of training (`nasvl.data.synth`), a validation or test sentence always names a
combination the training sentences never did.

The slot values are what the sentence claims about the target; the generator records them
in each video's `tags.json` so tests and reports can check what the words promise.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

_TEXTURE_ADJ = {"striped": ("striped",), "dotted": ("spotted", "dotted"), "checkered": ("checkered",),
                "plain": ("plain", "solid")}
_TEXTURE_NOUN = {"striped": "stripes", "dotted": "dots", "checkered": "a checkered pattern", "plain": "no pattern"}
_SIZE = {"small": ("small", "little", "tiny"), "medium": ("medium-sized", "mid-sized"), "large": ("large", "big")}
_GROW = {"grows": ("that grows", "getting bigger", "which keeps growing", "growing larger"),
         "shrinks": ("that shrinks", "getting smaller", "which keeps shrinking", "growing smaller")}
_SIDE = {"left": ("to the left of", "left of", "staying left of"),
         "right": ("to the right of", "right of", "staying right of"),
         "above": ("above", "staying above", "higher than"),
         "below": ("below", "staying below", "underneath")}
_SWITCH = ("that turns {to}", "which later becomes {to}", "changing from {frm} to {to}", "that suddenly turns {to}")
_SPEED = {"drifting": ("drifting", "gliding", "slowly moving"), "moving": ("moving", "heading", "going"),
          "darting": ("darting", "racing", "rushing")}
_DET = ("the", "a", "the", "that")

# Net displacement below this many pixels reads as "back and forth", not a direction.
_STILL_PX = 25.0


def motion_parts(centers: np.ndarray, visible: np.ndarray) -> tuple[str, str]:
    """(speed word, direction) of a path over its visible frames, from net displacement and median speed.

    Directions: "left", "right", "upward", "downward", "upper left", ..., "around" (no net
    displacement) or "still".
    """
    pts = centers[visible] if visible.any() else centers
    if len(pts) < 2:
        return "drifting", "still"
    step = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    speed = float(np.median(step))
    dx, dy = pts[-1] - pts[0]
    verb = "drifting" if speed < 1.5 else ("moving" if speed < 4 else "darting")
    if np.hypot(dx, dy) < _STILL_PX:
        return verb, "still" if speed < 1.0 else "around"
    horiz, vert = ("left" if dx < 0 else "right"), ("upper" if dy < 0 else "lower")
    if abs(dx) > 2 * abs(dy):
        return verb, horiz
    if abs(dy) > 2 * abs(dx):
        return verb, "upward" if dy < 0 else "downward"
    return verb, f"{vert} {horiz}"


def motion_phrase(centers: np.ndarray, visible: np.ndarray, rng: np.random.Generator | None = None) -> str:
    """How a path moves on screen, e.g. "drifting to the left"; `rng` picks a paraphrase."""
    verb, where = motion_parts(centers, visible)
    pick = (lambda options: options[int(rng.integers(len(options)))]) if rng is not None else (lambda o: o[0])
    word = pick(_SPEED[verb])
    if where == "still":
        return pick(("hovering in place", "barely moving", "staying put"))
    if where == "around":
        return f"{word} {pick(('back and forth', 'around', 'to and fro'))}"
    if where in ("left", "right"):
        return f"{word} {pick(('to the ' + where, where + 'ward', 'towards the ' + where))}"
    if where in ("upward", "downward"):
        return f"{word} {where}"
    return f"{word} toward the {where}"


def size_change(scales: np.ndarray, visible: np.ndarray) -> str | None:
    """"grows" / "shrinks" when the visible scale ends 35% above / 25% below where it began."""
    s = scales[visible] if visible.any() else scales
    ratio = float(s[-1] / s[0]) if len(s) > 1 else 1.0
    return "grows" if ratio >= 1.35 else ("shrinks" if ratio <= 0.75 else None)


def describe(rng: np.random.Generator, slots: Mapping[str, str]) -> str:
    """One sentence that states every slot in `slots` (keys: color, shape, size, texture,
    motion, change, relation, landmark, switch_to, switch_attr), in a random frame and wording."""
    pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    size = pick(_SIZE[slots["size"]]) if "size" in slots else ""
    texture = slots.get("texture")
    color = slots.get("color", "")
    switch = None
    if "switch_to" in slots:
        by_color = slots["switch_attr"] == "color"
        frame = pick(_SWITCH)
        frm = color if by_color else pick(_TEXTURE_ADJ[texture or "plain"])
        to = slots["switch_to"] if by_color else pick(_TEXTURE_ADJ[slots["switch_to"]])
        switch = frame.format(frm=frm, to=to)
        if "{frm}" in frame:  # "the square changing from red to blue": the start is named once
            color, texture = ("", texture) if by_color else (color, None)
    noun_texture = texture is not None and texture != "plain" and rng.random() < 0.35
    adj = pick(_TEXTURE_ADJ[texture]) if texture is not None and not noun_texture else ""
    words = [pick(_DET), size, adj, color, slots["shape"]]
    if noun_texture:
        words += ["with", _TEXTURE_NOUN[texture]]  # type: ignore[index]
    clauses = []
    if "motion" in slots:
        clauses.append(slots["motion"])
    if "change" in slots:
        clauses.append(pick(_GROW[slots["change"]]))
    if "relation" in slots:
        clauses.append(f"{pick(_SIDE[slots['relation']])} the {slots['landmark']}")
    if switch:
        clauses.append(switch)
    order = [int(k) for k in rng.permutation(len(clauses))]
    clauses = [clauses[k] for k in order]
    joiner = pick((" ", ", ", " and "))
    head = " ".join(w for w in words if w)
    if not clauses:
        return head
    if len(clauses) > 1 and joiner == " and ":
        return f"{head} {', '.join(clauses[:-1])} and {clauses[-1]}"
    return head + (", " if joiner == ", " else " ") + ", ".join(clauses)
