"""Language sensitivity of exported trackers (helper measurement script for issue 13, item 5).

Tracks a split with each export in the modes `correct` (the video's description), `none`
(no description, zeros fallback), `deranged` (another video's description, a fixed
derangement) and `template` (no description, template fallback), then prints SUC per mode,
the paired differences to `correct` with a 95 % bootstrap CI over videos, and the split by
the synthetic `description_needed` tag.

    PYTHONPATH=$PWD python scripts/h2_sensitivity.py --split DATA/test --cache runs/cache/embeddings \
        --export vl=runs/quickstart/retrain/export --export vision=runs/quickstart/baseline/export
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from nasvl.data.registry import load_dataset
from nasvl.export import load_subnet
from nasvl.language import EmbeddingCache
from nasvl.metrics.ope import evaluate_sequence
from nasvl.tracking.run import track_video
from nasvl.tracking.tracker import build_tracker

MODES = ("correct", "none", "deranged", "template")


def bootstrap_ci(values: np.ndarray, reps: int = 5000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), (reps, len(values)))
    means = values[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--export", action="append", required=True, help="name=folder")
    ap.add_argument("--modes", default="correct,none,deranged")
    ap.add_argument("--max-videos", type=int, default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    videos = [v for v in load_dataset(Path(args.split), "lasot", None, strict=True) if v.description]
    videos = videos[: args.max_videos] if args.max_videos else videos
    n = len(videos)
    deranged = [videos[(i + 1 + n // 2) % n].description for i in range(n)]  # never the video's own
    cache = EmbeddingCache(args.cache, "minilm")
    cache.warm([v.description for v in videos])
    frames = {v.name: [v.frame(i) for i in range(len(v))] for v in videos}
    needed = np.array([bool(v.attributes.get("description_needed")) for v in videos])
    out: dict[str, dict[str, list[float]]] = {}
    for spec in args.export:
        name, folder = spec.split("=", 1)
        net = load_subnet(folder)
        out[name] = {}
        for mode in args.modes.split(","):
            tracker = build_tracker(net, embed_text=cache.get, language_fallback="template" if mode == "template"
                                    else "zeros", benchmark="synth")
            sucs = []
            for i, v in enumerate(videos):
                text = {"correct": v.description, "deranged": deranged[i]}.get(mode)
                boxes = track_video(tracker, frames[v.name], v.boxes[0], text)
                sucs.append(100 * evaluate_sequence(boxes, v.boxes, v.absent)["suc"])
            out[name][mode] = sucs
    print(f"{n} videos ({int(needed.sum())} needed)")
    for name, modes in out.items():
        base = np.array(modes["correct"]) if "correct" in modes else None
        for mode, sucs in modes.items():
            s = np.array(sucs)
            line = f"{name:10s} {mode:9s} SUC {s.mean():5.1f}  needed {s[needed].mean():5.1f}  " \
                   f"not-needed {s[~needed].mean():5.1f}"
            if base is not None and mode != "correct":
                d = base - s
                lo, hi = bootstrap_ci(d)
                dn = d[needed]
                lon, hin = bootstrap_ci(dn)
                line += f"  | correct-{mode} {d.mean():+5.1f} [{lo:+.1f}, {hi:+.1f}]" \
                        f"  needed {dn.mean():+5.1f} [{lon:+.1f}, {hin:+.1f}]"
            print(line)
    names = list(out)
    if len(names) >= 2 and "correct" in out[names[0]] and "correct" in out[names[1]]:
        a, b = np.array(out[names[0]]["correct"]), np.array(out[names[1]]["correct"])
        d = a - b
        lo, hi = bootstrap_ci(d)
        lon, hin = bootstrap_ci(d[needed])
        print(f"{names[0]}-{names[1]} (correct): all {d.mean():+.1f} [{lo:+.1f}, {hi:+.1f}]  "
              f"needed {d[needed].mean():+.1f} [{lon:+.1f}, {hin:+.1f}]")
    if args.json:
        Path(args.json).write_text(json.dumps({"videos": [v.name for v in videos], "needed": needed.tolist(),
                                               "suc": out}, indent=1))


if __name__ == "__main__":
    main()
