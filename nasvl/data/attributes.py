"""Per-video challenge attributes derived from annotations alone.

Benchmarks ship attribute tables in their toolkits, not in the data folders.
Deriving the annotation-based ones here (following LaSOT's definitions) gives
every reader, the synthetic benchmark included, the same per-attribute
breakdown without a side file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nasvl.config.yamldoc import load_json_text
from nasvl.data.textio import read_text
from nasvl.errors import ConfigError, DataError

# LaSOT's definitions: SV/ARC when the ratio to the first box leaves [0.5, 2];
# FM when the centre moves more than the box size between frames; LR when some
# box has fewer than 1000 pixels.
_RATIO_RANGE = (0.5, 2.0)
_LOW_RES_AREA = 1000.0


def derive_attributes(boxes: np.ndarray, absent: np.ndarray, *,
                      full_occlusion: np.ndarray | None = None,
                      out_of_view: np.ndarray | None = None) -> dict[str, Any]:
    """Boolean challenge attributes of one video (keys are stable, lower_snake_case)."""
    b = np.asarray(boxes, dtype=np.float64)
    ok = np.isfinite(b).all(axis=1) & (b[:, 2] > 0) & (b[:, 3] > 0) & ~absent
    attrs: dict[str, Any] = {
        "full_occlusion": bool(full_occlusion.any()) if full_occlusion is not None else bool(absent.any()),
        "out_of_view": bool(out_of_view.any()) if out_of_view is not None else False,
    }
    if ok.sum() < 2:
        attrs.update(scale_variation=False, aspect_ratio_change=False, fast_motion=False, low_resolution=False)
        return attrs
    v = b[ok]
    area = v[:, 2] * v[:, 3]
    aspect = v[:, 2] / v[:, 3]
    lo, hi = _RATIO_RANGE
    scale_ratio = np.sqrt(area / area[0])
    aspect_ratio = aspect / aspect[0]
    centres = v[:, :2] + v[:, 2:] / 2
    step = np.linalg.norm(np.diff(centres, axis=0), axis=1)
    size = np.sqrt(area[:-1])
    attrs.update(
        scale_variation=bool(((scale_ratio < lo) | (scale_ratio > hi)).any()),
        aspect_ratio_change=bool(((aspect_ratio < lo) | (aspect_ratio > hi)).any()),
        fast_motion=bool((step > size).any()),
        low_resolution=bool((area < _LOW_RES_AREA).any()),
    )
    return attrs


# ---- content tags the synthetic benchmark writes per video (`<seq>/tags.json`) ----------------
SYNTH_TAGS_FILE = "tags.json"
_TAG_KINDS = ("twin", "appearance_switch", "loose_box", "long_out_of_view")


def read_synth_tags(seq_dir: Path) -> dict[str, Any]:
    """The per-video content tags of the synthetic benchmark as attributes ({} when the folder has none).

    Booleans (so reports split SUC by them): `description_needed` (some frame shows another
    object that matches the template at least as well as the target: the template alone
    cannot tell them apart), `held_out_combination`, and one per content kind (`twin`,
    `appearance_switch`, `loose_box`, `long_out_of_view`). Strings: `twin_cue`, `combination`.
    """
    path = seq_dir / SYNTH_TAGS_FILE
    if not path.is_file():
        return {}
    try:
        doc = load_json_text(read_text(path), file=str(path))  # YAML/JSON limits: size, depth, digits
    except ConfigError as exc:
        raise DataError(str(exc)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("kinds"), list) \
            or not isinstance(doc.get("description_needed"), bool):
        raise DataError("expected an object with 'kinds' (list) and 'description_needed' (true/false)",
                        file=str(path))
    unknown = sorted(str(k) for k in doc["kinds"] if k not in _TAG_KINDS)
    if unknown:
        raise DataError(f"kinds: unknown {', '.join(unknown)} (known: {', '.join(_TAG_KINDS)})", file=str(path))
    attrs: dict[str, Any] = {k: k in doc["kinds"] for k in _TAG_KINDS}
    attrs["description_needed"] = doc["description_needed"]
    attrs["held_out_combination"] = doc.get("held_out_combination") is True
    twin = doc.get("twin")
    if isinstance(twin, dict) and isinstance(twin.get("cue"), str):
        attrs["twin_cue"] = twin["cue"]
    if isinstance(doc.get("combination"), str):
        attrs["combination"] = doc["combination"]
    return attrs
