"""COCO-style image boxes as one-frame videos (the paper mixes COCO/DET into training).

Layout: `<root>/annotations.json` (or `<root>/annotations/*<split>*.json`) and images under
`<root>/images/` or `<root>/`. Each non-crowd annotation becomes a `Video` named
`<image stem>-<annotation id>`; template and search are then cut from the same image.
There is no language: the source's `zeros`/`template` mode applies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from nasvl.data.registry import register_format
from nasvl.data.textio import read_text
from nasvl.data.video import Video
from nasvl.errors import DataError

Pending = tuple[str, Callable[[], Video]]


def _annotation_file(root: Path, split: str | None) -> Path:
    if (root / "annotations.json").is_file() and split is None:
        return root / "annotations.json"
    pattern = f"*{split}*.json" if split else "*.json"
    found = sorted((root / "annotations").glob(pattern)) if (root / "annotations").is_dir() else []
    if len(found) != 1:
        raise DataError(f"expected one annotations.json or annotations/{pattern}, found {len(found)}",
                        file=str(root))
    return found[0]


@register_format("coco", layout="expected annotations.json with at least one non-crowd annotation")
def discover(root: Path, split: str | None) -> list[Pending]:
    ann_file = _annotation_file(root, split)
    try:
        doc = json.loads(read_text(ann_file))
    except json.JSONDecodeError as exc:
        raise DataError(f"invalid JSON: {exc.msg}", file=str(ann_file), line=exc.lineno) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) \
            or not isinstance(doc.get("annotations"), list):
        raise DataError("not a COCO document: needs 'images' and 'annotations' lists", file=str(ann_file))
    images: dict[Any, dict[str, Any]] = {}
    for i, img in enumerate(doc["images"]):
        if not isinstance(img, dict) or "id" not in img or "file_name" not in img:
            raise DataError(f"images[{i}]: needs 'id' and 'file_name'", file=str(ann_file))
        images[img["id"]] = img
    categories = {c.get("id"): c.get("name") for c in doc.get("categories", []) if isinstance(c, dict)}
    image_dir = root / "images" if (root / "images").is_dir() else root
    out: list[Pending] = []
    for i, ann in enumerate(doc["annotations"]):
        if isinstance(ann, dict) and ann.get("iscrowd"):
            continue  # crowd boxes cover many objects: no single target to track
        name = f"annotations[{i}]"
        out.append((name, partial(_read_annotation, ann, i, images, categories, image_dir, ann_file)))
    return out


def _read_annotation(ann: Any, i: int, images: dict[Any, dict[str, Any]], categories: dict[Any, Any],
                     image_dir: Path, ann_file: Path) -> Video:
    where = f"annotations[{i}]"
    if not isinstance(ann, dict) or "bbox" not in ann or "image_id" not in ann:
        raise DataError(f"{where}: needs 'image_id' and 'bbox'", file=str(ann_file))
    bbox = ann["bbox"]
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int | float) for v in bbox)):
        raise DataError(f"{where}: bbox must be 4 numbers [x, y, w, h], got {bbox!r}", file=str(ann_file))
    box = np.asarray(bbox, dtype=np.float64)
    if not np.isfinite(box).all() or box[2] <= 0 or box[3] <= 0:
        raise DataError(f"{where}: bbox has a non-positive or non-finite size: {bbox!r}", file=str(ann_file))
    img = images.get(ann["image_id"])
    if img is None:
        raise DataError(f"{where}: unknown image_id {ann['image_id']!r}", file=str(ann_file))
    path = image_dir / img["file_name"]
    if not path.is_file():
        raise DataError(f"{where}: image {img['file_name']} not found in {image_dir}", file=str(ann_file))
    return Video(name=f"{Path(img['file_name']).stem}-{ann.get('id', i)}", frames=[path], boxes=box[None, :],
                 absent=np.zeros(1, dtype=bool), description=None,
                 attributes={"category": categories.get(ann.get("category_id"))}, dataset="coco")
