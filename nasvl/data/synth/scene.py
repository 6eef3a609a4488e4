"""Scene model and renderer of the synthetic VL benchmark: shapes, motion, occluders, camera.

A scene is planned first (all trajectories as arrays), then rendered frame by frame,
so ground truth, occlusion and out-of-view flags come from the same numbers that
drew the pixels. Everything random draws from one `np.random.Generator` per video,
which makes a video a pure function of (seed, split, index).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

# BGR colours with plain English names: the names end up in the descriptions.
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (40, 40, 220), "green": (60, 180, 60), "blue": (220, 90, 30), "yellow": (40, 220, 235),
    "purple": (160, 50, 140), "orange": (30, 140, 250), "cyan": (225, 215, 40), "white": (240, 240, 240),
    "pink": (180, 120, 250), "black": (25, 25, 25),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "hexagon", "diamond")
TEXTURES: tuple[str, ...] = ("plain", "striped", "dotted", "checkered")
SIZES: dict[str, tuple[float, float]] = {"small": (8.0, 13.0), "medium": (15.0, 22.0), "large": (25.0, 34.0)}

# Thresholds that turn pixels into LaSOT's per-frame flags.
FULL_OCCLUSION_VISIBLE = 0.1  # less than 10% of the target's in-frame pixels visible
OUT_OF_VIEW_INSIDE = 0.1      # less than 10% of the target's box inside the image


def _unit_polygon(shape: str) -> np.ndarray:
    """Vertices of a shape of radius 1 centred at the origin (y down, like images)."""
    if shape == "circle":
        t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if shape == "square":
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * 0.85
    if shape == "diamond":
        return np.array([[0, -1], [0.7, 0], [0, 1], [-0.7, 0]], float)
    if shape == "triangle":
        t = np.deg2rad([-90, 30, 150])
        return np.stack([np.cos(t), np.sin(t)], 1)
    if shape == "hexagon":
        t = np.deg2rad(np.arange(6) * 60)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if shape == "star":
        t = np.deg2rad(np.arange(10) * 36 - 90)
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        return np.stack([r * np.cos(t), r * np.sin(t)], 1)
    raise ValueError(f"unknown shape {shape!r}")


UNIT_POLYGONS = {s: _unit_polygon(s) for s in SHAPES}


@dataclass(frozen=True)
class ObjectSpec:
    """Appearance of one object; `radius` is its base size in pixels."""

    shape: str
    color: str
    texture: str
    size: str
    radius: float
    aspect: float  # horizontal stretch, so boxes are not all square


@dataclass
class Track:
    """Per-frame state of one object: centre (screen px), scale factor, draw order.

    `first` is the frame it appears in (a twin may pop in mid-video); from frame
    `switch_at` on it looks like `after` (an abrupt appearance switch, as in TNL2K).
    """

    spec: ObjectSpec
    centers: np.ndarray  # (T, 2)
    scales: np.ndarray   # (T,)
    z: int
    first: int = 0
    switch_at: int | None = None
    after: ObjectSpec | None = None
    _sprites: dict[int, np.ndarray] = field(default_factory=dict)  # texture rendered once per look

    def spec_at(self, t: int) -> ObjectSpec:
        return self.after if self.after is not None and self.switch_at is not None and t >= self.switch_at \
            else self.spec

    def sprite(self, t: int = 0) -> tuple[np.ndarray, int]:
        """The object's texture over a square big enough for its largest frame, and its half side."""
        spec = self.spec_at(t)
        half = int(np.ceil(self.spec.radius * float(self.scales.max()) * max(self.spec.aspect, 1.0))) + 2
        key = 0 if spec is self.spec else 1
        if key not in self._sprites:
            self._sprites[key] = _texture(spec, 2 * half, 2 * half, np.array([-half, -half], float))
        return self._sprites[key], half


def random_spec(rng: np.random.Generator, *, shape: str | None = None, color: str | None = None,
                size: str | None = None) -> ObjectSpec:
    size = size or str(rng.choice(list(SIZES)))
    lo, hi = SIZES[size]
    return ObjectSpec(shape=shape or str(rng.choice(SHAPES)), color=color or str(rng.choice(list(COLORS))),
                      texture=str(rng.choice(TEXTURES)), size=size, radius=float(rng.uniform(lo, hi)),
                      aspect=float(rng.uniform(0.75, 1.35)))


def plan_motion(rng: np.random.Generator, n: int, width: int, height: int, radius: float, *,
                abrupt: bool, out_of_view: bool, avoid: np.ndarray | None = None,
                clearance: float = 0.0, drift: np.ndarray | None = None, start: np.ndarray | None = None,
                exit_side: int | None = None, away: int | None = None,
                exit_at: int | None = None) -> np.ndarray:
    """Centre trajectory: a smooth momentum walk kept in view by a soft border, with
    optional abrupt dashes and one excursion out of the frame and back (leave fast,
    stay out 6–13 frames, steer back). The start keeps `clearance` px from `avoid`
    (the target's start) so the first frame shows the target whole. `drift` (px/frame) gives
    the walk a net direction, `start` fixes the first centre, `exit_side` (index into right,
    left, down, up) the excursion's side, `exit_at` its start and `away` its length in frames."""
    size = np.array([width, height], float)
    best, best_gap = None, -1.0
    for _ in range(30):
        pos = rng.uniform(0.15, 0.85, 2) * size
        gap = np.inf if avoid is None else float(np.linalg.norm(pos - avoid))
        if gap > best_gap:
            best, best_gap = pos, gap
        if gap > clearance:
            break
    pos = best if start is None else np.array(start, float)
    drift = np.zeros(2) if drift is None else np.asarray(drift, float)
    vel = rng.normal(0, 1.5, 2)
    jumps = set(rng.choice(np.arange(5, n), size=max(0, min(3, n - 5)), replace=False).tolist()) if abrupt else set()
    # Short paths (a twin that pops in near the end) still draw a valid exit frame.
    drawn_exit = int(rng.integers(n // 4, max(n // 2, n // 4 + 1)))
    exit_at = (drawn_exit if exit_at is None else exit_at) if out_of_view else n
    away = int(rng.integers(6, 14)) if away is None else away
    side = int(rng.integers(4))
    exit_dir = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], float)[side if exit_side is None else exit_side]
    margin = radius + 4
    outside = size / 2 + (size / 2 + 2.2 * radius) * exit_dir  # beyond the border even at 1.7x scale
    state, left_at = "normal", n
    out = np.empty((n, 2))
    for t in range(n):
        if state == "normal" and t >= exit_at:
            state = "leaving"
        if state == "leaving":
            axis = int(np.flatnonzero(exit_dir)[0])
            pos[axis] += np.clip(outside[axis] - pos[axis], -14, 14)
            if abs(outside[axis] - pos[axis]) < 1e-6:
                state, left_at = "away", t
        elif state == "away":
            if t - left_at >= away:
                state = "returning"
        elif state == "returning":
            home = size / 2 - pos
            pos = pos + 10 * home / max(np.linalg.norm(home), 1e-9)
            if (pos > margin).all() and (pos < size - margin).all():
                state, vel = "normal", 1.5 * home / max(np.linalg.norm(home), 1e-9)
                exit_at = n  # one excursion per video
        else:
            if t in jumps:
                # Abrupt motion: a jump of more than the object's size (LaSOT's "fast motion",
                # as after dropped frames), then a fast dash in a new direction.
                heading = rng.normal(0, 1, 2)
                pos = np.clip(pos + heading / max(np.linalg.norm(heading), 1e-9) * 2.6 * radius,
                              margin, size - margin)
                vel = rng.normal(0, 7, 2)
            vel = 0.92 * vel + rng.normal(0, 0.35, 2)
            speed = np.linalg.norm(vel)
            if speed > 9:
                vel *= 9 / speed
            # Soft border: push back towards the inside, stronger the further out it is.
            vel += np.where(pos < margin, 0.8, 0.0) - np.where(pos > size - margin, 0.8, 0.0)
            pos = np.clip(pos + vel + drift, margin / 2, size - margin / 2) if drift.any() else pos + vel
        out[t] = pos
    return out


def plan_scale(rng: np.random.Generator, n: int, end: float | None = None) -> np.ndarray:
    """Smooth scale change: a ramp to `end` (default drawn in [0.6, 1.6]) times a slow wobble."""
    drawn = float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
    end = drawn if end is None else end
    t = np.linspace(0, 1, n)
    wobble = 1 + 0.08 * np.sin(2 * np.pi * (t * rng.uniform(0.5, 2) + rng.uniform()))
    return (1 + (end - 1) * t) * wobble


def confine(centers: np.ndarray, axis: int, bound: float, below: bool) -> np.ndarray:
    """Mirror a path at `bound` so coordinate `axis` stays below it (or above): the object
    bounces off an invisible line, which keeps "left of the X" true in every frame."""
    out = centers.copy()
    v = out[:, axis]
    out[:, axis] = np.where(v > bound, 2 * bound - v, v) if below else np.where(v < bound, 2 * bound - v, v)
    return out


def polygon(track: Track, t: int) -> np.ndarray:
    s = track.spec
    pts = UNIT_POLYGONS[s.shape] * s.radius * track.scales[t]
    pts = pts * np.array([s.aspect, 1.0])
    return pts + track.centers[t]


def _texture(spec: ObjectSpec, h: int, w: int, origin: np.ndarray) -> np.ndarray:
    """The object's colour pattern over an h×w patch whose corner is `origin` (screen px);
    patterns are anchored at the object's centre so they move with it."""
    base = np.array(COLORS[spec.color], np.float32)
    patch = np.empty((h, w, 3), np.float32)
    patch[:] = base
    if spec.texture == "plain":
        return patch.astype(np.uint8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx += origin[0]
    yy += origin[1]
    period = max(4.0, spec.radius / 2.5)
    if spec.texture == "striped":
        mark = ((xx + yy) // period) % 2 == 0
    elif spec.texture == "dotted":
        mark = ((xx % period) - period / 2) ** 2 + ((yy % period) - period / 2) ** 2 < (period / 4) ** 2
    else:  # checkered
        mark = ((xx // period) + (yy // period)) % 2 == 0
    # Darken or lighten the marks so the colour name still fits the object.
    shade = 0.45 if base.mean() > 110 else 2.2
    patch[mark] = np.clip(base * shade + (25 if shade > 1 else 0), 0, 255)
    return patch.astype(np.uint8)


def draw(frame: np.ndarray, ids: np.ndarray, track: Track, t: int, obj_id: int) -> int:
    """Draw one object into `frame` (in place), stamp its id into `ids`; return its pixel count."""
    if t < track.first:
        return 0
    pts = polygon(track, t)
    h, w = frame.shape[:2]
    x0, y0 = np.floor(pts.min(0)).astype(int)
    x1, y1 = np.ceil(pts.max(0)).astype(int) + 1
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if cx1 <= cx0 or cy1 <= cy0:
        return 0
    mask = np.zeros((cy1 - cy0, cx1 - cx0), np.uint8)
    local = np.round((pts - [cx0, cy0]) * 16).astype(np.int32)  # 4 fractional bits: sub-pixel edges
    cv2.fillPoly(mask, [local], 1, lineType=cv2.LINE_8, shift=4)
    on = mask.astype(bool)
    sprite, half = track.sprite(t)
    ox = cx0 - int(round(track.centers[t][0])) + half
    oy = cy0 - int(round(track.centers[t][1])) + half
    tex = sprite[max(oy, 0):oy + cy1 - cy0, max(ox, 0):ox + cx1 - cx0]
    region = frame[cy0:cy1, cx0:cx1]
    if tex.shape[:2] != region.shape[:2]:  # cannot happen for in-range scales; stay safe anyway
        tex = cv2.resize(sprite, (cx1 - cx0, cy1 - cy0), interpolation=cv2.INTER_NEAREST)
    np.copyto(region, tex, where=on[..., None])
    cv2.polylines(region, [local], True, (20, 20, 20), 1, lineType=cv2.LINE_AA, shift=4)
    ids[cy0:cy1, cx0:cx1][on] = obj_id
    return int(on.sum())


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A textured canvas: low-frequency colour noise, random strokes, fine grain.

    Colours are muted so that the saturated objects stay the salient things in view.
    """
    small = rng.uniform(60, 170, (max(2, height // 40), max(2, width // 40), 3)).astype(np.float32)
    canvas = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(25, 45))):
        p0 = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        p1 = (p0[0] + int(rng.integers(-80, 80)), p0[1] + int(rng.integers(-80, 80)))
        tone = tuple(float(v) for v in rng.uniform(70, 160, 3))
        cv2.line(canvas, p0, p1, tone, int(rng.integers(1, 5)), lineType=cv2.LINE_AA)
    for _ in range(int(rng.integers(10, 20))):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.integers(5, 30)), int(rng.integers(5, 30)))
        tone = tuple(float(v) for v in rng.uniform(70, 160, 3))
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, tone, -1, lineType=cv2.LINE_AA)
    canvas += rng.normal(0, 6, canvas.shape).astype(np.float32)
    grey = canvas.mean(axis=2, keepdims=True)
    canvas = 0.45 * canvas + 0.55 * grey  # desaturate: objects, not the backdrop, carry colour
    return np.clip(canvas, 0, 255).astype(np.uint8)


def target_state(ids: np.ndarray, target_pixels: int, box: np.ndarray, width: int, height: int,
                 target_id: int) -> tuple[np.ndarray, bool, bool]:
    """Clip the target's box to the image and decide the LaSOT flags for this frame.

    Returns (xywh box, full_occlusion, out_of_view). Out-of-view frames get 0,0,0,0 as
    LaSOT writes them; fully occluded frames keep the box of the hidden object.
    """
    x0, y0, x1, y1 = box
    area = max((x1 - x0) * (y1 - y0), 1e-9)
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    inside = max(cx1 - cx0, 0) * max(cy1 - cy0, 0) / area
    if inside < OUT_OF_VIEW_INSIDE:
        return np.zeros(4), False, True
    visible = int((ids == target_id).sum())
    occluded = target_pixels > 0 and visible / target_pixels < FULL_OCCLUSION_VISIBLE
    return np.array([cx0, cy0, cx1 - cx0, cy1 - cy0]), bool(occluded), False
