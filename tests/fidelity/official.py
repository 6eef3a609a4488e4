"""The official-output fixtures (`<repo>/../shared/fixtures/official/`): location and weight rule."""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _locate() -> Path:
    """`<repo>/../shared/fixtures/official`; from a git worktree nested deeper, the nearest ancestor's
    `shared/`; or $NASVL_OFFICIAL_FIXTURES."""
    if os.environ.get("NASVL_OFFICIAL_FIXTURES"):
        return Path(os.environ["NASVL_OFFICIAL_FIXTURES"])
    repo = Path(__file__).resolve().parents[2]
    for parent in repo.parents:
        candidate = parent / "shared" / "fixtures" / "official"
        if candidate.is_dir():
            return candidate
    return repo.parent / "shared" / "fixtures" / "official"


FIXTURES = _locate()


def fixture_dirs() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted(d for d in FIXTURES.iterdir() if (d / "meta.json").is_file())


def meta(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "meta.json").read_text(encoding="utf-8"))


def regenerate(folder: Path, seed: int, exclude: str | None = None) -> dict[str, torch.Tensor]:
    """The official-layout state dict, by the README's weight rule (a fresh generator per key)."""
    out: dict[str, torch.Tensor] = {}
    for entry in json.loads((folder / "keys.json").read_text(encoding="utf-8")):
        key, shape, dtype = entry["key"], tuple(entry["shape"]), entry["dtype"]
        if exclude and key.startswith(exclude):
            continue
        rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
        if dtype == "int64":
            out[key] = torch.zeros(shape, dtype=torch.int64)
            continue
        if key.endswith("running_var"):
            value = rng.uniform(0.5, 1.5, shape)
        elif key.endswith("running_mean"):
            value = 0.1 * rng.standard_normal(shape)
        elif len(shape) == 1 and key.endswith(".weight"):
            value = 1 + 0.1 * rng.standard_normal(shape)
        elif len(shape) == 1:
            value = 0.1 * rng.standard_normal(shape)
        else:
            value = rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
        out[key] = torch.from_numpy(np.asarray(value, dtype=np.float64).astype(np.float32))
    return out


def rel_error(ours: torch.Tensor, official: np.ndarray) -> float:
    want = torch.from_numpy(official).double()
    return float((ours.detach().double() - want).abs().max() / want.abs().max())
