"""Template/search training pairs (SiamFC-style crops) from one or several mixed sources.

Each item is drawn from its own generator seeded by (seed, epoch, index), so a pair does
not depend on which DataLoader worker makes it or on how many workers there are: a
given seed and worker id (indeed any worker id) always yields the same pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from nasvl.data.crops import CONTEXT, context_size, crop_affine, map_box, mean_color
from nasvl.data.pairs.augment import (
    NO_AUG,
    SEARCH_AUG,
    TEMPLATE_AUG,
    AugmentConfig,
    jitter_window,
    photometric,
)
from nasvl.data.video import Video
from nasvl.errors import DataError

LangMode = Literal["zeros", "template"]

# OpenCV's own thread pool does not survive fork(): a DataLoader worker forked after the
# parent ran a threaded cv2 call can deadlock. Data loading parallelises over workers,
# so cv2 runs single-threaded in any process that builds pairs (pysot/mmcv do the same).
cv2.setNumThreads(0)


@dataclass(frozen=True)
class PairSource:
    """Videos plus how to mix them: `share` of the pairs (normalised over sources) and
    the language fallback `lang_mode` for their videos without a description."""

    videos: Sequence[Video]
    share: float = 1.0
    lang_mode: LangMode = "zeros"
    frame_range: int = 100
    name: str = ""

    def __post_init__(self) -> None:
        if self.share < 0:
            raise DataError(f"source {self.name!r}: share must be >= 0, got {self.share}")
        if self.lang_mode not in ("zeros", "template"):
            raise DataError(f"source {self.name!r}: lang_mode must be zeros or template, got {self.lang_mode!r}")

    def usable(self) -> list[tuple[Video, np.ndarray]]:
        """Videos with at least one visible frame, with those frame indices."""
        out = [(v, np.flatnonzero(v.visible)) for v in self.videos]
        return [(v, idx) for v, idx in out if len(idx)]


class PairDataset(Dataset):
    """A torch `Dataset` of training pairs; see the module docstring for determinism.

    Items: `template` (3,T,T) and `search` (3,S,S) float32 BGR 0..255 like pysot,
    `template_box`/`search_box` (4,) float32 xyxy in crop pixels, `text` ("" when the
    video has no description), `has_text`, `lang_mode`, `negative` (search from another
    video, or a text negative), `text_negative`, and `lang` (d,) when `embeddings` (text -> vector,
    from the language cache) is given; `lang` is zeros without text (the tracker applies `lang_mode`).

    `text_negative_rate` (beyond the paper, issue 13): that fraction of the positive pairs of
    described videos keeps its template and search crops but gets another video's description
    (one naming another target where the videos carry a `combination` tag) and is labelled
    negative. The template alone then no longer decides the label: the network has to check the
    description against what it sees, so the language path carries a gradient that matters.
    """

    def __init__(self, videos_or_sources: Sequence[Video] | Sequence[PairSource], *, seed: int = 0,
                 template_size: int = 127, search_size: int = 255, context: float = CONTEXT,
                 pairs_per_epoch: int = 10_000, negative_rate: float = 0.2, frame_range: int = 100,
                 lang_mode: LangMode = "zeros", template_aug: AugmentConfig = TEMPLATE_AUG,
                 search_aug: AugmentConfig = SEARCH_AUG, embeddings: Mapping[str, torch.Tensor] | None = None,
                 embedding_dim: int | None = None, text_negative_rate: float = 0.0) -> None:
        items = list(videos_or_sources)
        if items and all(isinstance(v, Video) for v in items):
            items = [PairSource(items, lang_mode=lang_mode, frame_range=frame_range, name="videos")]
        self.sources: list[PairSource] = []
        self._usable: list[list[tuple[Video, np.ndarray]]] = []
        for source in items:
            usable = source.usable()  # type: ignore[union-attr]
            if usable and source.share > 0:  # type: ignore[union-attr]
                self.sources.append(source)  # type: ignore[arg-type]
                self._usable.append(usable)
        if not self.sources:
            raise DataError("no source has a video with a visible target (or every share is 0)")
        shares = np.array([s.share for s in self.sources], dtype=np.float64)
        self.cum_share = np.cumsum(shares / shares.sum())
        self.seed, self.epoch = int(seed), 0
        self.template_size, self.search_size, self.context = template_size, search_size, context
        self.pairs_per_epoch, self.negative_rate = pairs_per_epoch, negative_rate
        if not 0 <= text_negative_rate <= 1:
            raise DataError(f"text_negative_rate must be within [0, 1], got {text_negative_rate}")
        self.text_negative_rate = float(text_negative_rate)
        # Per source: the described videos' (sentence, target combination), the pool of wrong descriptions.
        self._texts = [[(v.description, v.attributes.get("combination")) for v, _ in usable if v.description]
                       for usable in self._usable]
        self.template_aug, self.search_aug = template_aug, search_aug
        self.embeddings = embeddings
        if embeddings is not None and embedding_dim is None:
            first = next(iter(embeddings.values()), None)
            embedding_dim = int(first.shape[-1]) if first is not None else None
        self.embedding_dim = embedding_dim

    def __len__(self) -> int:
        return self.pairs_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """New pairs each epoch, still reproducible."""
        self.epoch = int(epoch)

    @staticmethod
    def worker_init_fn(worker_id: int) -> None:
        """For `DataLoader(worker_init_fn=...)`: one OpenCV thread per worker process."""
        cv2.setNumThreads(1)

    def _pick(self, rng: np.random.Generator) -> tuple[PairSource, Video, np.ndarray]:
        k = min(int(np.searchsorted(self.cum_share, rng.random(), side="right")), len(self.sources) - 1)
        usable = self._usable[k]
        video, idx = usable[int(rng.integers(len(usable)))]
        return self.sources[k], video, idx

    def _crop(self, rng: np.random.Generator, video: Video, i: int, out: int,
              aug: AugmentConfig) -> tuple[np.ndarray, np.ndarray]:
        image = video.frame(i)
        x, y, w, h = video.boxes[i]
        size = context_size(w, h, self.context) * out / self.template_size
        center, size = jitter_window(rng, np.array([x + w / 2, y + h / 2]), size, aug)
        crop, matrix = crop_affine(image, center, size, out, mean_color(image))
        return photometric(rng, crop, map_box(video.boxes[i], matrix), aug)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        source, video, idx = self._pick(rng)
        t = int(rng.choice(idx))
        negative = rng.random() < self.negative_rate
        if negative:
            # A negative needs another target; with a single usable video there is none,
            # and the pair quietly stays positive rather than being mislabelled.
            for _ in range(8):
                _, s_video, s_idx = self._pick(rng)
                if s_video is not video:
                    break
            negative = s_video is not video
        if negative:
            s = int(rng.choice(s_idx))
        else:
            near = idx[np.abs(idx - t) <= source.frame_range]
            s_video, s = video, int(rng.choice(near))
        text = video.description or ""
        text_negative = False
        if self.text_negative_rate > 0 and not negative and text:  # no draw at rate 0: the paper's pairs unchanged
            wrong = self._wrong_text(rng, self._texts[self.sources.index(source)], video)
            if wrong is not None and rng.random() < self.text_negative_rate:
                text, negative, text_negative = wrong, True, True
        template, t_box = self._crop(rng, video, t, self.template_size, self.template_aug)
        search, s_box = self._crop(rng, s_video, s, self.search_size, self.search_aug)
        item: dict[str, Any] = {
            "template": torch.from_numpy(np.ascontiguousarray(template.transpose(2, 0, 1), dtype=np.float32)),
            "search": torch.from_numpy(np.ascontiguousarray(search.transpose(2, 0, 1), dtype=np.float32)),
            "template_box": torch.from_numpy(t_box.astype(np.float32)),
            "search_box": torch.from_numpy(s_box.astype(np.float32)),
            "text": text, "has_text": bool(text), "lang_mode": source.lang_mode, "negative": bool(negative),
            "text_negative": text_negative,
        }
        if self.embeddings is not None:
            item["lang"] = self._lang(text)
        return item

    @staticmethod
    def _wrong_text(rng: np.random.Generator, pool: list[tuple[str, Any]], video: Video) -> str | None:
        """Another video's description, naming another target (combination tag) where the tags say so."""
        own = video.attributes.get("combination")
        wrong = [t for t, c in pool if t != video.description and (own is None or c != own)]
        return wrong[int(rng.integers(len(wrong)))] if wrong else None

    def _lang(self, text: str) -> torch.Tensor:
        if not text:
            if self.embedding_dim is None:
                raise DataError("embeddings are empty: cannot infer the zero vector's size (pass embedding_dim)")
            return torch.zeros(self.embedding_dim, dtype=torch.float32)
        if text not in self.embeddings:  # type: ignore[operator]
            raise DataError(f"no cached embedding for description {text[:60]!r} (rebuild the language cache)")
        return self.embeddings[text].detach().to(torch.float32).reshape(-1)  # type: ignore[index]


def no_augmentation() -> dict[str, AugmentConfig]:
    """Keyword arguments for a `PairDataset` without augmentation (debugging, tests)."""
    return {"template_aug": NO_AUG, "search_aug": NO_AUG}
