"""The embedded synthetic vision-language tracking benchmark (`nasvl data synth`).

It makes nasvl runnable anywhere with no download. `generate(out_dir)` writes

- `out_dir/{train,val,test}/<class>/<class-k>/` in LaSOT layout (`img/%08d.jpg`,
  `groundtruth.txt`, `full_occlusion.txt`, `out_of_view.txt`, `nlp.txt`, plus `tags.json`), so
  `load_dataset(out_dir / "val", "lasot")` reads a split with the real LaSOT reader;
- `out_dir/coco/` a vision-only COCO-style image set (`images/`, `annotations.json`);
- `out_dir/manifest.json` with the settings and a SHA-256 of every file.

Default size (`SynthConfig()`): 80 train / 20 val / 20 test videos of 60–120 frames at
320×240 (about 10,800 JPEG frames, ~200 MB) plus 200 COCO-style images; 20% of the
training videos have no `nlp.txt`. It takes well under a minute on 2 CPU cores.

Every video has a target, at least one distractor sharing its shape or its colour (never
both), other objects that may pass over it (partial occlusion), smooth motion, scale change
and a camera pan over a textured background. Drawn per video: abrupt motion (50%),
illumination change (60%), a pillar that partly or fully occludes the target (45%) and an
excursion out of view with absent flags (15%, more with the kinds below).

On top of that, content in which the description carries what the template lacks
(`nasvl.data.synth.story`): a twin of the template's appearance told apart only by a
described motion, size change or side of a landmark (45%; half pop in while the target
is out of view), an abrupt colour or texture switch that the description names (35%), a loose
first-frame box (30%) and a long out-of-view span (20%). Descriptions are compositional
(`synth_text`), and validation/test targets wear colour–shape pairs no training video
shows. Each video folder has a `tags.json` (kinds, whether the description is *needed*,
the described slots, the twin's and the switch's facts), which
`nasvl.data.attributes.read_synth_tags` turns into boolean attributes for reports.

The class of a video is its
target's shape. Output is byte-identical for a given seed, config and OpenCV build (the
JPEG bytes are libjpeg's): each video draws from its own generator seeded by
(seed, split, index), so the worker count does not matter.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from nasvl.data.attributes import SYNTH_TAGS_FILE as TAGS_FILE
from nasvl.data.synth import scene as sc
from nasvl.data.synth import story as st
from nasvl.data.synth.story import plan_objects
from nasvl.data.synth.text import describe, motion_parts, motion_phrase, size_change
from nasvl.errors import DataError
from nasvl.io import atomic_write_json

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SynthConfig:
    train_videos: int = 80
    val_videos: int = 20
    test_videos: int = 20
    min_frames: int = 60
    max_frames: int = 120
    width: int = 320
    height: int = 240
    coco_images: int = 200
    no_description_fraction: float = 0.2  # of training videos, to exercise the zeros/template fallbacks
    jpeg_quality: int = 90


@dataclass(frozen=True)
class _Job:
    split: str
    index: int
    name: str
    seed: int


def _split_counts(videos: int) -> tuple[int, int, int]:
    """Total → (train, val, test) in the default 4:1:1 proportion, at least one each."""
    if videos < 3:
        raise DataError(f"need at least 3 videos (one per split), got {videos}")
    held = max(1, round(videos / 6))
    return videos - 2 * held, held, held


def _rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLITS.index(split) if split in SPLITS else 9, index])


def _render_video(job: _Job, cfg: SynthConfig, out_root: Path) -> None:
    cv2.setNumThreads(1)  # parallelism comes from processes; threads would only contend
    rng = _rng(job.seed, job.split, job.index)
    held_out, training = st.held_out_pairs(job.seed), job.split == "train"
    target, others = plan_objects(rng, held_out, not training)  # first draws: `_jobs` replays them
    n = int(rng.integers(cfg.min_frames, cfg.max_frames + 1))
    w, h = cfg.width, cfg.height
    story = st.plan_story(rng)
    # A twin that pops in does so while the target is out of view.
    oov = (story.twin_cue is not None and story.twin_pops_in) or story.long_out_of_view or rng.random() < 0.15
    pillar, illum = rng.random() < 0.45, rng.random() < 0.6
    landmark = st.pick_landmark(rng, story, target, held_out, training)
    cast = st.plan_tracks(rng, story, target, others, landmark, n, w, h, oov)
    tracks = cast.tracks
    after = st.switch_target(rng, story, target, others, held_out, training)
    if after is not None:
        tracks[0].switch_at, tracks[0].after = int(rng.integers(int(0.35 * n), int(0.6 * n) + 1)), after
    order = [int(k) for k in rng.permutation(len(tracks))]  # random depth: distractors may cover the target
    if cast.twin is not None:  # the twin is drawn on top, so parked distractors never hide it for good
        order = [k for k in order if k != cast.twin] + [cast.twin]
    # ...but not in frame 1, where a tracker is initialised: objects that start on top of
    # the target are drawn below it.
    start, reach = tracks[0].centers[0], 1.4 * target.radius * tracks[0].scales[0]
    under = [k for k in order[order.index(0) + 1:] if np.linalg.norm(tracks[k].centers[0] - start)
             < reach + 1.4 * tracks[k].spec.radius * tracks[k].scales[0]]
    order = under + [k for k in order if k not in under]
    pad = 80
    canvas = sc.background(rng, h + 2 * pad, w + 2 * pad)
    pan_end = rng.uniform(-pad, pad, 2)
    t = np.linspace(0, 1, n)[:, None]
    cam = np.clip(pad + pan_end * t + 6 * np.sin(2 * np.pi * t * rng.uniform(0.5, 1.5)), 0, 2 * pad)
    cam = np.round(cam).astype(int)
    gain = 1 + (rng.uniform(0.15, 0.4) * np.sin(2 * np.pi * (t[:, 0] * rng.uniform(0.5, 2) + rng.uniform()))
                if illum else np.zeros(n))
    if illum and rng.random() < 0.5:
        gain[int(rng.integers(n // 3, n)):] *= rng.uniform(0.55, 0.8)  # lights dim abruptly
    t_mid = int(rng.integers(int(0.6 * n), int(0.9 * n)))
    bar_world = tracks[0].centers[t_mid, 0] + cam[t_mid, 0]
    bar_half = target.radius * tracks[0].scales[t_mid] * target.aspect * rng.uniform(0.7, 1.4)
    # No pillar where it would hide the target in frame 1: a tracker is initialised there.
    start_gap = abs(bar_world - cam[0, 0] - tracks[0].centers[0, 0])
    pillar = pillar and start_gap > bar_half + target.radius * tracks[0].scales[0] * target.aspect + 4
    # An opaque pillar with horizontal bands, fixed to the background (it pans with it).
    bar_rows = np.where((np.arange(h) // 10) % 2 == 0, 1.0, 0.8)[:, None] * rng.uniform(80, 140, 3)
    bar_rows = bar_rows.astype(np.uint8)[:, None, :]

    seq = out_root / job.split / target.shape / job.name
    (seq / "img").mkdir(parents=True)
    boxes, full_occ, out_view = np.zeros((n, 4)), np.zeros(n, bool), np.zeros(n, bool)
    params = [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality]
    shown = np.zeros((n, len(tracks)), bool)  # object k at least 30% visible in frame i
    for i in range(n):
        frame = canvas[cam[i, 1]:cam[i, 1] + h, cam[i, 0]:cam[i, 0] + w].copy()
        ids = np.zeros((h, w), np.uint8)
        drawn = np.zeros(len(tracks))
        for k in order:
            drawn[k] = sc.draw(frame, ids, tracks[k], i, k + 1)
        target_px = int(drawn[0])
        if pillar:
            x = int(round(bar_world - cam[i, 0]))
            x0, x1 = max(x - int(bar_half), 0), min(x + int(bar_half), w)
            if x1 > x0:
                frame[:, x0:x1] = bar_rows
                ids[:, x0:x1] = 255
        poly = sc.polygon(tracks[0], i)
        box = np.array([*poly.min(0), *poly.max(0)])
        boxes[i], full_occ[i], out_view[i] = sc.target_state(ids, target_px, box, w, h, 1)
        counts = np.bincount(ids.ravel(), minlength=256)[1:len(tracks) + 1]
        shown[i] = (drawn > 0) & (counts >= 0.3 * np.maximum(drawn, 1))
        if illum:
            frame = cv2.convertScaleAbs(frame, alpha=float(gain[i]), beta=0)
        ok, buf = cv2.imencode(".jpg", frame, params)
        (seq / "img" / f"{i + 1:08d}.jpg").write_bytes(buf.tobytes())
    if story.loose_box:
        boxes[0] = st.loosen(rng, boxes[0], w, h)
    # LaSOT's files: integer boxes, and flags comma-separated on a single line.
    rows = np.round(boxes).astype(int)
    (seq / "groundtruth.txt").write_text("".join(f"{a},{b},{c},{d}\n" for a, b, c, d in rows))
    (seq / "full_occlusion.txt").write_text(",".join(str(int(v)) for v in full_occ) + "\n")
    (seq / "out_of_view.txt").write_text(",".join(str(int(v)) for v in out_view) + "\n")
    slots, tags = _description_and_tags(rng, job, story, cast, others, shown, out_view, held_out)
    sentence = describe(rng, slots)
    silent = job.split == "train" and rng.random() < cfg.no_description_fraction
    if not silent:
        (seq / "nlp.txt").write_text(sentence + "\n")
    atomic_write_json(seq / TAGS_FILE, tags)


def _description_and_tags(rng: np.random.Generator, job: _Job, story: st.Story, cast: st.Cast,
                          others: list[sc.ObjectSpec], shown: np.ndarray, out_view: np.ndarray,
                          held_out: frozenset[tuple[str, str]]) -> tuple[dict[str, str], dict[str, Any]]:
    """What the sentence states (slots) and the per-video record of kinds and facts (tags.json)."""
    tracks = cast.tracks
    target, tr = tracks[0].spec, tracks[0]
    visible = ~out_view
    slots = {"color": target.color, "shape": target.shape}
    landmark_at: list[float] = []
    confusable = [o for o in others if o.shape == target.shape or o.color == target.color]
    if any(o.size != target.size for o in confusable) or rng.random() < 0.4:
        slots["size"] = target.size
    if target.texture != "plain" or tr.after is not None or rng.random() < 0.2:
        slots["texture"] = target.texture
    if story.twin_cue == "motion" or rng.random() < 0.7:
        slots["motion"] = motion_phrase(tr.centers, visible, rng)
    change = cast.change or size_change(tr.scales, visible)
    if change and (cast.change or rng.random() < 0.3):
        slots["change"] = change
    if cast.relation and cast.landmark is not None:
        mark = tracks[cast.landmark].spec
        slots["relation"], slots["landmark"] = cast.relation, f"{mark.color} {mark.shape}"
        landmark_at = [round(float(v), 2) for v in tracks[cast.landmark].centers[0]]
    if tr.after is not None:
        attr = story.switch_attr or "color"
        slots["switch_attr"], slots["switch_to"] = attr, getattr(tr.after, attr)
    # Needed: in some frame another visible object matches the template (the first frame's
    # look) at least as well as the visible target does, so the template alone cannot tell.
    needed = False
    for i in np.flatnonzero(shown[:, 0]):
        own = st.template_match(tr.spec_at(int(i)), target)
        if any(shown[i, k] and st.template_match(tracks[k].spec_at(int(i)), target) >= own
               for k in range(1, len(tracks))):
            needed = True
            break
    tags: dict[str, Any] = {
        "kinds": story.kinds(), "description_needed": needed,
        "combination": f"{target.color} {target.shape}",
        "held_out_combination": (target.color, target.shape) in held_out,
        "described": slots,
        "switch": None if tr.after is None else {"frame": int(tr.switch_at or 0) + 1, "attribute": slots["switch_attr"],
                                                 "from": getattr(target, slots["switch_attr"]),
                                                 "to": slots["switch_to"]},
        "twin": None,
        "landmark_center": landmark_at if cast.relation and cast.landmark is not None else None,
    }
    if cast.twin is not None:
        tw = tracks[cast.twin]
        seen = shown[:, cast.twin]
        tags["twin"] = {"cue": story.twin_cue, "first_frame": tw.first + 1, "frames_shown": int(seen.sum()),
                        "motion": motion_parts(tw.centers, seen)[1], "change": size_change(tw.scales, seen)}
    return slots, tags


def _render_coco(cfg: SynthConfig, seed: int, out_root: Path) -> None:
    """Still images with 2–5 objects each; every object at least 30% visible is annotated."""
    cv2.setNumThreads(1)
    rng = np.random.default_rng([seed, 7, 0])
    (out_root / "coco" / "images").mkdir(parents=True)
    w, h = cfg.width, cfg.height
    images, annotations = [], []
    for i in range(cfg.coco_images):
        frame = sc.background(rng, h, w)
        ids = np.zeros((h, w), np.uint8)
        tracks, pixels = [], []
        for k in range(int(rng.integers(2, 6))):
            spec = sc.random_spec(rng)
            centre = np.array([[rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h]])
            tracks.append(sc.Track(spec, centre, np.ones(1), k))
            pixels.append(sc.draw(frame, ids, tracks[-1], 0, k + 1))
        name = f"{i + 1:06d}.jpg"
        cv2.imwrite(str(out_root / "coco" / "images" / name), frame, [cv2.IMWRITE_JPEG_QUALITY, cfg.jpeg_quality])
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h})
        for k, track in enumerate(tracks):
            if pixels[k] == 0 or (ids == k + 1).sum() < 0.3 * pixels[k]:
                continue
            poly = sc.polygon(track, 0)
            x0, y0 = np.maximum(poly.min(0), 0)
            x1, y1 = np.minimum(poly.max(0), [w, h])
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            box = [round(float(x0), 2), round(float(y0), 2), round(float(x1 - x0), 2), round(float(y1 - y0), 2)]
            annotations.append({"id": len(annotations) + 1, "image_id": i + 1, "bbox": box, "iscrowd": 0,
                                "area": round(box[2] * box[3], 2),
                                "category_id": sc.SHAPES.index(track.spec.shape) + 1})
    categories = [{"id": k + 1, "name": s} for k, s in enumerate(sc.SHAPES)]
    atomic_write_json(out_root / "coco" / "annotations.json",
                      {"images": images, "annotations": annotations, "categories": categories})


def _jobs(cfg: SynthConfig, seed: int) -> list[_Job]:
    """Video names `<shape>-<k>` with k counting per class across splits, as in LaSOT."""
    jobs, counter = [], {}
    for split, count in zip(SPLITS, (cfg.train_videos, cfg.val_videos, cfg.test_videos), strict=True):
        for index in range(count):
            shape, _ = plan_objects(_rng(seed, split, index), st.held_out_pairs(seed), split != "train")
            counter[shape.shape] = counter.get(shape.shape, 0) + 1
            jobs.append(_Job(split, index, f"{shape.shape}-{counter[shape.shape]}", seed))
    return jobs


def _checksums(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def generate(out_dir: str | Path, videos: int | None = None, seed: int = 0, *,
             config: SynthConfig | None = None, workers: int | None = None, overwrite: bool = False) -> Path:
    """Write the benchmark under `out_dir` and return it.

    `videos` overrides the total video count (split 4:1:1). Existing splits are never
    replaced silently: pass `overwrite=True`. Files are rendered into a hidden folder
    and moved into place at the end, so an interrupted run leaves no half-written split.
    """
    cfg = config or SynthConfig()
    if videos is not None:
        tr, va, te = _split_counts(videos)
        cfg = SynthConfig(**{**asdict(cfg), "train_videos": tr, "val_videos": va, "test_videos": te})
    if cfg.min_frames < 10 or cfg.max_frames < cfg.min_frames:
        raise DataError(f"frame range {cfg.min_frames}..{cfg.max_frames} invalid (need 10 <= min <= max)")
    out = Path(out_dir)
    existing = [s for s in (*SPLITS, "coco") if (out / s).exists()]
    if existing and not overwrite:
        raise DataError(f"{', '.join(existing)} already exist; pass overwrite (--force) to replace",
                        file=str(out))
    tmp = out / f".synth-tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        jobs = _jobs(cfg, seed)
        workers = workers or min(2, os.cpu_count() or 1)
        if workers > 1:
            with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
                futures = [pool.submit(_render_video, j, cfg, tmp) for j in jobs]
                futures.append(pool.submit(_render_coco, cfg, seed, tmp))
                for f in futures:
                    f.result()
        else:
            for j in jobs:
                _render_video(j, cfg, tmp)
            _render_coco(cfg, seed, tmp)
        for split in (*SPLITS, "coco"):
            (tmp / split).mkdir(exist_ok=True)  # a split may be empty in a custom config
            if (out / split).exists():
                shutil.rmtree(out / split)
            os.replace(tmp / split, out / split)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    manifest: dict[str, Any] = {"generator": "nasvl.data.synth", "seed": seed, "config": asdict(cfg),
                                "videos": {s: [j.name for j in jobs if j.split == s] for s in SPLITS},
                                "files": {}}
    for split in (*SPLITS, "coco"):
        manifest["files"].update({f"{split}/{k}": v for k, v in _checksums(out / split).items()})
    atomic_write_json(out / "manifest.json", manifest)
    return out
