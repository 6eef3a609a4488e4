"""Training checkpoints: complete, atomic, and loadable with `torch.load(weights_only=True)`.

A checkpoint holds the model, optimizer, scheduler, step, every RNG state
(python, numpy, torch, and the architecture sampler's) and the space it belongs
to (embedded, with its hash). Files are written to a temp file and renamed, so a
kill at any moment leaves the previous checkpoint intact. Everything stored is a
tensor or a plain Python container, hence `weights_only=True` loads it — no
pickled objects, ever.
"""

from __future__ import annotations

import io
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasvl.errors import CheckpointError
from nasvl.io import atomic_write

FORMAT = "nasvl-train-checkpoint"
_NAME = re.compile(r"^step_(\d{8})\.pt$")


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {"key": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["key"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])


def save_checkpoint(directory: str | Path, step: int, payload: dict[str, Any], keep: int = 2) -> Path:
    """Write `step_XXXXXXXX.pt` atomically, point `last.txt` at it, and prune to the newest `keep`."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"step_{step:08d}.pt"
    # Serialise to memory first: torch.save's C++ writer turns a full disk into an opaque RuntimeError,
    # a plain file write gives the OSError (ENOSPC, EFBIG) that atomic_write reports cleanly.
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "step": step, **payload}, buffer)
    atomic_write(path, lambda p: p.write_bytes(buffer.getbuffer()))
    for old in sorted(list_checkpoints(d))[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def list_checkpoints(directory: str | Path) -> list[Path]:
    d = Path(directory)
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if _NAME.match(p.name))


def latest_checkpoint(directory: str | Path) -> Path | None:
    found = list_checkpoints(directory)
    return found[-1] if found else None


def load_checkpoint(path: str | Path, expect_space_hash: str | None = None) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for truncated/foreign files
        raise CheckpointError(f"{p}: unreadable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{p}: not a nasvl training checkpoint")
    if expect_space_hash is not None and ckpt.get("space_hash") != expect_space_hash:
        raise CheckpointError(f"{p}: checkpoint belongs to space {ckpt.get('space_name')!r} "
                              f"(hash {ckpt.get('space_hash')}), but this run's space has hash {expect_space_hash}")
    return ckpt
