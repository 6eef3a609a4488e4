"""Benchmark data: readers yielding `Video`s, the synthetic VL benchmark, training pairs.

`load_dataset(root, format, split, strict)` reads LaSOT/LaSOT_ext, TNL2K, OTB99-LANG,
GOT-10k, COCO-style JSON and generic video folders into the same `Video` type.
"""

from __future__ import annotations

from nasvl.data.registry import format_names, load_dataset, register_format
from nasvl.data.textio import DataWarning
from nasvl.data.video import Video

__all__ = ["DataWarning", "Video", "format_names", "load_dataset", "register_format"]
