"""Tiny tracker spaces, a fake text embedder and a synthetic video the tests write themselves."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import trackers  # noqa: F401  (registers plugins and the `bottleneck` op before any space is parsed)
from nasvl.bench.trackers import moving_shape_video
from nasvl.space import SearchSpace, load_space
from nasvl.supernet import Supernet, build_supernet

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"

# space file -> (tracker name, uses language); every one at `size: tiny`
TINY = {
    "tiny.yaml": ("vlt_scar", True),
    "tiny_tt.yaml": ("vlt_tt", True),
    "tiny_siamcar.yaml": ("siamcar", False),
    "tiny_transt.yaml": ("transt", False),
    "tiny_resnet.yaml": ("siamcar", False),
}


def tiny_space(name: str) -> SearchSpace:
    return load_space(SPACES / name)


def tiny_supernet(name: str, seed: int = 0) -> tuple[Supernet, SearchSpace]:
    torch.manual_seed(seed)
    space = tiny_space(name)
    return build_supernet(space), space


def sample_arch(space: SearchSpace, seed: int = 0):  # noqa: ANN201 - Architecture
    return space.sample(random.Random(seed))


def fake_embed(dim: int = 384) -> Callable[[str], torch.Tensor | None]:
    """Deterministic text → vector (a stand-in for the language cache; no BERT in tracker tests)."""

    def embed(text: str) -> torch.Tensor | None:
        if not text.strip():
            return None
        return torch.randn(dim, generator=torch.Generator().manual_seed(zlib.crc32(text.encode())))

    return embed


@pytest.fixture(scope="session")
def synthetic_video() -> tuple[list[np.ndarray], np.ndarray]:
    """12 frames of a red ellipse moving over a textured background (BGR), and its xywh boxes."""
    return moving_shape_video(12, width=160, height=120, seed=3)


@pytest.fixture
def video_dir(tmp_path: Path, synthetic_video: tuple[list[np.ndarray], np.ndarray]) -> Path:
    frames, _ = synthetic_video
    folder = tmp_path / "video" / "img"
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i + 1:08d}.jpg"), frame)
    return folder.parent
