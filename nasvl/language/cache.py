"""On-disk + in-memory cache of sentence embeddings, keyed by (model id, exact text).

Training, search and tracking all ask for the same few thousand descriptions; the
cache makes each unique description cost one BERT forward, ever. Layout::

    ROOT/<model_id>/<key[:2]>/<key>.safetensors     key = sha256(model_id + "\\0" + text)

One safetensors file per entry: tensor "embedding" (dim,) float32, with the model id
and the exact text in its metadata so a file can be checked against what was asked.
Files are written atomically, so concurrent Ray workers warming the same text are
harmless (last identical rename wins). A file that is unreadable or does not match
(truncated, wrong shape, other model, NaN) is recomputed and rewritten with a
`CacheCorruptWarning`: the cache is derived data, so failing the run would be worse.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from nasvl.io import atomic_write
from nasvl.language.encoder import DEFAULT_LANGUAGE_MODEL, LanguageEncoder, has_description

FORMAT = "nasvl-embedding-v1"
_WRITE_CHUNK = 256  # texts encoded between disk flushes, so a crash loses little work


class CacheCorruptWarning(UserWarning):
    """A cache file could not be used and was recomputed."""


def default_cache_dir() -> Path:
    """`$NASVL_CACHE_DIR/embeddings`, else `$XDG_CACHE_HOME/nasvl/embeddings`, else ~/.cache/nasvl/embeddings."""
    if os.environ.get("NASVL_CACHE_DIR"):
        return Path(os.environ["NASVL_CACHE_DIR"]).expanduser() / "embeddings"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "nasvl" / "embeddings"


def embedding_cache(cache_dir: str | Path | None, model: LanguageEncoder | str = DEFAULT_LANGUAGE_MODEL, *,
                    device: str = "cpu") -> EmbeddingCache:
    """The embedding cache a config or flag names, else the one default (`default_cache_dir()`):
    embeddings depend only on (model, text), so every run on a machine shares them."""
    return EmbeddingCache(Path(cache_dir) if cache_dir else default_cache_dir(), model, device=device)


class EmbeddingCache:
    """Embeddings of descriptions, computed once per (model, text) and shared across runs.

    `root=None` keeps the cache in memory only (tests, one-off scripts); pass
    `default_cache_dir()` or a run folder to persist it. `encoder` is a
    `LanguageEncoder` (whose weights load lazily) or a model spec for one; with a warm
    cache the model weights are never loaded.
    """

    def __init__(
        self,
        root: str | Path | None,
        encoder: LanguageEncoder | str = DEFAULT_LANGUAGE_MODEL,
        *,
        device: str | torch.device = "cpu",
    ) -> None:
        self.encoder = (
            encoder if isinstance(encoder, LanguageEncoder) else LanguageEncoder(encoder, device=device)
        )
        self.model_id = self.encoder.model_id
        self.dim = self.encoder.dim
        self.root = None if root is None else Path(root).expanduser()
        self._memory: dict[str, torch.Tensor] = {}
        self.stats = {"memory_hits": 0, "disk_hits": 0, "computed": 0, "recomputed_corrupt": 0}

    def __repr__(self) -> str:
        return f"EmbeddingCache(root={str(self.root)!r}, model_id={self.model_id!r}, in_memory={len(self._memory)})"

    def __len__(self) -> int:
        return len(self._memory)

    # ---- public API -------------------------------------------------------------------------
    def get(self, text: str | None) -> torch.Tensor | None:
        """The (dim,) embedding of `text`, or None when it is no description (empty/whitespace/None)."""
        if not has_description(text):
            return None
        assert text is not None
        self.warm([text])
        return self._memory[text].clone()

    def get_many(self, texts: Iterable[str | None]) -> dict[str, torch.Tensor]:
        """{text: embedding} for every description in `texts`; no-description texts are left out,
        so `result.get(text)` is None for them, as with `get`."""
        texts = list(texts)
        self.warm(texts)
        return {t: self._memory[t].clone() for t in texts if has_description(t)}  # type: ignore[index]

    def stack(self, texts: Sequence[str | None]) -> tuple[torch.Tensor, torch.Tensor]:
        """((n, dim) embeddings, (n,) bool has-description mask) for a batch; rows without a
        description are zeros, so a mixer can pick its zeros/template mode per sample."""
        self.warm(texts)
        out = torch.zeros(len(texts), self.dim, dtype=torch.float32)
        has = torch.tensor([has_description(t) for t in texts], dtype=torch.bool)
        for i, text in enumerate(texts):
            if has[i]:
                out[i] = self._memory[text]  # type: ignore[index]
        return out, has

    def warm(self, texts: Iterable[str | None]) -> int:
        """Make every description in `texts` available; returns how many were newly computed.

        Each unique text not in memory is looked up on disk; the rest are embedded in
        batches (one model call per batch) and written back.
        """
        pending: list[str] = []
        for text in dict.fromkeys(t for t in texts if has_description(t)):
            assert text is not None
            if text in self._memory:
                self.stats["memory_hits"] += 1
                continue
            cached = self._load(text)
            if cached is None:
                pending.append(text)
            else:
                self.stats["disk_hits"] += 1
                self._memory[text] = cached
        for start in range(0, len(pending), _WRITE_CHUNK):
            chunk = pending[start : start + _WRITE_CHUNK]
            embeddings = self.encoder.encode(chunk)
            for text, emb in zip(chunk, embeddings, strict=True):
                emb = emb.contiguous()
                self._memory[text] = emb
                self._save(text, emb)
            self.stats["computed"] += len(chunk)
        return len(pending)

    def path_for(self, text: str) -> Path | None:
        """Where `text`'s embedding lives on disk (None for an in-memory cache)."""
        if self.root is None:
            return None
        key = hashlib.sha256(f"{self.model_id}\0{text}".encode()).hexdigest()
        return self.root / self.model_id / key[:2] / f"{key}.safetensors"

    # ---- disk -------------------------------------------------------------------------------
    def _load(self, text: str) -> torch.Tensor | None:
        path = self.path_for(text)
        if path is None or not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="pt") as fh:
                meta = fh.metadata() or {}
                emb = fh.get_tensor("embedding")
            problem = self._check(meta, emb, text)
        except Exception as exc:  # safetensors raises its own error types for truncated/garbage files
            problem = f"unreadable ({type(exc).__name__}: {exc})"
        if problem is None:
            return emb
        self.stats["recomputed_corrupt"] += 1
        warnings.warn(
            f"embedding cache file {path} is {problem}; recomputing it", CacheCorruptWarning, stacklevel=3
        )
        return None

    def _check(self, meta: dict[str, str], emb: torch.Tensor, text: str) -> str | None:
        if meta.get("format") != FORMAT:
            return f"not a {FORMAT} file (format={meta.get('format')!r})"
        if meta.get("model_id") != self.model_id or meta.get("text") != text:
            return "for another model or text"
        if emb.dtype != torch.float32 or tuple(emb.shape) != (self.dim,):
            return f"the wrong shape/dtype ({tuple(emb.shape)}, {emb.dtype}; expected ({self.dim},), float32)"
        if not torch.isfinite(emb).all():
            return "not finite"
        return None

    def _save(self, text: str, emb: torch.Tensor) -> None:
        path = self.path_for(text)
        if path is None:
            return
        meta = {"format": FORMAT, "model_id": self.model_id, "text": text}
        atomic_write(path, lambda tmp: save_file({"embedding": emb}, str(tmp), metadata=meta))
