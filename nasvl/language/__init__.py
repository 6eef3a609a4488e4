"""Language side of the ModaMixer: a frozen BERT-family encoder and its embedding cache.

cache = EmbeddingCache(default_cache_dir(), "minilm")
f_l = cache.get("a black dog running on grass")   # (384,) float32, or None for no description
"""

from __future__ import annotations

from nasvl.language.cache import CacheCorruptWarning, EmbeddingCache, default_cache_dir, embedding_cache
from nasvl.language.encoder import (
    DEFAULT_LANGUAGE_MODEL,
    LanguageEncoder,
    TextTruncatedWarning,
    has_description,
    resolve_model_dir,
)

__all__ = [
    "DEFAULT_LANGUAGE_MODEL",
    "CacheCorruptWarning",
    "EmbeddingCache",
    "LanguageEncoder",
    "TextTruncatedWarning",
    "default_cache_dir", "embedding_cache",
    "has_description",
    "resolve_model_dir",
]
