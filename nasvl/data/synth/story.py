"""What happens in one synthetic video: its objects, the content kinds that make language
necessary, and what the description says.

Modelled on what makes real VL benchmarks hard (TNL2K's adversarial samples and abrupt
appearance switches, LaSOT's long out-of-view spans):

- **twin**: an object with the template's exact appearance (shape, colour, texture, size)
  is in the video, either from the start or popping in while the target is out of view.
  Only an attribute the description names tells them apart (`twin_cue`): the motion
  direction (they move opposite ways), the size change (one grows, the other shrinks) or
  the position relative to a landmark object (one stays left of it, the other right).
  A twin that pops in does so while the target is out of view, so a tracker has to re-find it.
- **appearance_switch**: the target's colour or texture changes abruptly mid-video; the
  description names the switch ("that turns blue"), so its words stay true.
- **loose_box**: the first frame's box (what a tracker is initialised with) is 30–80%
  too large and off-centre.
- **long_out_of_view**: an out-of-view span of 15–25% of the video instead of 6–13 frames.

Held-out combinations: `held_out_pairs(seed)` reserves one shape per colour (10 of the 60
colour–shape pairs). No object in a training video has a held-out pair; every validation
and test target has one, so their descriptions always name a combination that training
never showed together.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from nasvl.data.synth import scene as sc

TWIN_CUES = ("motion", "size_change", "relation")


def held_out_pairs(seed: int) -> frozenset[tuple[str, str]]:
    """(colour, shape) pairs kept out of training: one shape per colour, rotating with the seed,
    so every colour and every shape still occurs in training."""
    k = len(sc.SHAPES)
    return frozenset((c, sc.SHAPES[(i + seed) % k]) for i, c in enumerate(sc.COLORS))


def _draw(rng: np.random.Generator, ok, **fixed) -> sc.ObjectSpec:  # type: ignore[no-untyped-def]
    """`random_spec` redrawn until `ok(spec)`; a bounded loop, so a video is always planned."""
    spec = sc.random_spec(rng, **fixed)
    for _ in range(60):
        if ok(spec):
            break
        spec = sc.random_spec(rng, **fixed)
    return spec


def plan_objects(rng: np.random.Generator, held_out: frozenset[tuple[str, str]] = frozenset(),
                 use_held_out: bool = False) -> tuple[sc.ObjectSpec, list[sc.ObjectSpec]]:
    """Target plus 2–5 other objects: at least one shares its shape or colour (never both).

    `use_held_out`: the target's colour–shape pair is one of `held_out` (validation, test);
    otherwise no object has a pair in `held_out` (training).
    """
    allowed = (lambda s: True) if use_held_out else (lambda s: (s.color, s.shape) not in held_out)
    if use_held_out and held_out:
        pairs = sorted(held_out)
        color, shape = pairs[int(rng.integers(len(pairs)))]
        target = sc.random_spec(rng, shape=shape, color=color)
    else:
        target = _draw(rng, allowed)
    other_colors = [c for c in sc.COLORS if c != target.color and allowed(replace(target, color=c))]
    other_shapes = [s for s in sc.SHAPES if s != target.shape and allowed(replace(target, shape=s))]
    mode = str(rng.choice(["shape", "color", "both"]))
    distractors = []
    if mode in ("shape", "both"):
        distractors.append(sc.random_spec(rng, shape=target.shape, color=str(rng.choice(other_colors))))
    if mode in ("color", "both"):
        distractors.append(sc.random_spec(rng, color=target.color, shape=str(rng.choice(other_shapes))))
    for _ in range(int(rng.integers(1, 4))):
        spec = _draw(rng, allowed)
        if spec.shape == target.shape and spec.color == target.color:
            spec = _draw(rng, allowed, shape=str(rng.choice(other_shapes)))
        distractors.append(spec)
    return target, distractors


@dataclass(frozen=True)
class Story:
    """The content kinds of one video (drawn before any path is planned)."""

    twin_cue: str | None        # one of TWIN_CUES, or no twin
    twin_pops_in: bool          # appears while the target is out of view (else present from frame 1)
    switch_attr: str | None     # "color" / "texture", or no switch
    loose_box: bool
    long_out_of_view: bool

    def kinds(self) -> list[str]:
        named = {"twin": self.twin_cue is not None, "appearance_switch": self.switch_attr is not None,
                 "loose_box": self.loose_box, "long_out_of_view": self.long_out_of_view}
        return [k for k, on in named.items() if on]


def plan_story(rng: np.random.Generator) -> Story:
    twin = rng.random() < 0.45
    cue = TWIN_CUES[int(rng.integers(len(TWIN_CUES)))]
    pops_in = rng.random() < 0.5
    switch = rng.random() < 0.35
    attr = "color" if rng.random() < 0.6 else "texture"
    loose, long_oov = rng.random() < 0.3, rng.random() < 0.2
    return Story(cue if twin else None, pops_in, attr if switch else None, loose, long_oov)


def switch_target(rng: np.random.Generator, story: Story, target: sc.ObjectSpec, others: list[sc.ObjectSpec],
                  held_out: frozenset[tuple[str, str]], training: bool) -> sc.ObjectSpec | None:
    """The target's look after its switch: a new colour no same-shaped object wears (and, in
    training, no held-out pair), or a new texture."""
    if story.switch_attr is None:
        return None
    if story.switch_attr == "texture":
        return replace(target, texture=str(rng.choice([t for t in sc.TEXTURES if t != target.texture])))
    taken = {o.color for o in others if o.shape == target.shape} | {target.color}
    colors = [c for c in sc.COLORS if c not in taken and not (training and (c, target.shape) in held_out)]
    return replace(target, color=str(rng.choice(colors)))


def pick_landmark(rng: np.random.Generator, story: Story, target: sc.ObjectSpec,
                  held_out: frozenset[tuple[str, str]], training: bool) -> sc.ObjectSpec | None:
    """The object a relation cue refers to: another shape and colour than the target's."""
    if story.twin_cue != "relation":
        return None
    return _draw(rng, lambda s: s.shape != target.shape and s.color != target.color
                 and not (training and (s.color, s.shape) in held_out), size=str(rng.choice(["medium", "large"])))


def template_match(spec: sc.ObjectSpec, template: sc.ObjectSpec) -> int:
    """How many of the appearance traits a template crop shows (shape, colour, texture) `spec` shares."""
    return int(spec.shape == template.shape) + int(spec.color == template.color) + \
        int(spec.texture == template.texture)


def loosen(rng: np.random.Generator, box: np.ndarray, width: int, height: int) -> np.ndarray:
    """A sloppy first-frame box: 30–80% larger per side, shifted, clipped to the image (xywh)."""
    x, y, w, h = box
    nw, nh = w * rng.uniform(1.3, 1.8), h * rng.uniform(1.3, 1.8)
    cx = x + w / 2 + rng.uniform(-0.15, 0.15) * nw
    cy = y + h / 2 + rng.uniform(-0.15, 0.15) * nh
    x0, y0 = max(cx - nw / 2, 0.0), max(cy - nh / 2, 0.0)
    x1, y1 = min(cx + nw / 2, width), min(cy + nh / 2, height)
    # The loose box still contains the whole visible target.
    x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x + w), max(y1, y + h)
    return np.array([x0, y0, x1 - x0, y1 - y0])


@dataclass
class Cast:
    """Planned tracks: the target is tracks[0]; `twin` / `landmark` index into `tracks`."""

    tracks: list[sc.Track]
    twin: int | None = None
    landmark: int | None = None
    relation: str | None = None      # the target's side of the landmark: left / right / above / below
    change: str | None = None        # forced size change of the target: grows / shrinks


_SIDES = {(0, -1): ("left", 1), (0, 1): ("right", 0), (1, -1): ("above", 3), (1, 1): ("below", 2)}


def _first_out_of_view(track: sc.Track, width: int, height: int) -> int:
    for t in range(len(track.centers)):
        poly = sc.polygon(track, t)
        x0, y0 = poly.min(0)
        x1, y1 = poly.max(0)
        inside = max(min(x1, width) - max(x0, 0), 0) * max(min(y1, height) - max(y0, 0), 0)
        if inside < sc.OUT_OF_VIEW_INSIDE * (x1 - x0) * (y1 - y0):
            return t
    return 0


def plan_tracks(rng: np.random.Generator, story: Story, target: sc.ObjectSpec, others: list[sc.ObjectSpec],
                landmark: sc.ObjectSpec | None, n: int, width: int, height: int, oov: bool) -> Cast:
    """All paths of a video. The target's path serves the twin cue (a drift, a side of the
    landmark, a forced size change); the twin's path is its opposite."""
    size = np.array([width, height], float)
    cue = story.twin_cue
    axis, sign = int(rng.random() < 0.3), (-1 if rng.random() < 0.5 else 1)
    drift = start = exit_side = None
    relation, end = None, None
    if cue == "motion":
        drift = np.zeros(2)
        drift[axis] = 2.0 * sign
        start = rng.uniform(0.3, 0.7, 2) * size
        start[axis] = (0.22 if sign > 0 else 0.78) * size[axis]
        exit_side = _SIDES[(axis, sign)][1]  # it leaves the way it goes
    if cue == "size_change":
        end = 1.7 if sign > 0 else 0.55
    mark_at = bound = None
    if cue == "relation" and landmark is not None:
        mark_at = rng.uniform(0.4, 0.6, 2) * size
        asp = target.aspect if axis == 0 else 1.0
        bound = landmark.radius * (landmark.aspect if axis == 0 else 1.0) + 0.6 * target.radius * asp + 4
        start = rng.uniform(0.25, 0.75, 2) * size
        start[axis] = mark_at[axis] + sign * (bound + rng.uniform(5, 20))
        start[axis] = np.clip(start[axis], target.radius, size[axis] - target.radius)
        relation, exit_side = _SIDES[(axis, sign)]  # it leaves on its own side
    away = int(n * rng.uniform(0.15, 0.25)) if story.long_out_of_view else None
    # A twin that pops in while the target is away needs time on screen: leave early.
    exit_at = int(rng.integers(n // 8, n // 4)) if cue and story.twin_pops_in else None
    path = sc.plan_motion(rng, n, width, height, target.radius, abrupt=rng.random() < 0.5, out_of_view=oov,
                          drift=drift, start=start, exit_side=exit_side, away=away, exit_at=exit_at)
    if mark_at is not None:
        path = sc.confine(path, axis, mark_at[axis] + sign * bound, below=sign < 0)
    tracks = [sc.Track(target, path, sc.plan_scale(rng, n, end), 0)]
    for k, spec in enumerate(others, 1):
        p = sc.plan_motion(rng, n, width, height, spec.radius, abrupt=rng.random() < 0.3, out_of_view=False,
                           avoid=path[0], clearance=1.6 * (target.radius + spec.radius) + 20)
        tracks.append(sc.Track(spec, p, sc.plan_scale(rng, n), k))
    cast = Cast(tracks, relation=relation, change=("grows" if end > 1 else "shrinks") if end else None)
    if mark_at is not None and landmark is not None:
        cast.landmark = len(tracks)
        tracks.append(sc.Track(landmark, np.repeat(mark_at[None], n, 0), np.ones(n), len(tracks)))
    if cue is None:
        return cast
    # The twin: the template's look, the opposite cue.
    first = _first_out_of_view(tracks[0], width, height) if story.twin_pops_in else 0
    twin_spec = replace(target, radius=target.radius * float(rng.uniform(0.95, 1.05)))
    t_start = None
    if cue == "motion":
        t_start = rng.uniform(0.3, 0.7, 2) * size
        t_start[axis] = (0.78 if sign > 0 else 0.22) * size[axis]
    elif cue == "relation" and mark_at is not None:
        t_start = rng.uniform(0.25, 0.75, 2) * size
        t_start[axis] = np.clip(mark_at[axis] - sign * (bound + rng.uniform(5, 20)), target.radius,
                                size[axis] - target.radius)
    twin_path = sc.plan_motion(rng, n - first, width, height, twin_spec.radius, abrupt=False, out_of_view=False,
                               avoid=None if first else path[0], clearance=3.2 * target.radius + 20,
                               drift=None if drift is None else -drift, start=t_start)
    if mark_at is not None:
        twin_path = sc.confine(twin_path, axis, mark_at[axis] - sign * bound, below=sign > 0)
    scales = sc.plan_scale(rng, n - first, None if end is None else (0.55 if end > 1 else 1.7))
    pad = lambda a: np.concatenate([np.repeat(a[:1], first, 0), a])  # noqa: E731 - not drawn before `first`
    cast.twin = len(tracks)
    tracks.append(sc.Track(twin_spec, pad(twin_path), pad(scales), len(tracks), first=first))
    return cast
