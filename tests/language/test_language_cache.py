"""EmbeddingCache: each unique description reaches the real MiniLM exactly once, ever."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from nasvl.language import CacheCorruptWarning, EmbeddingCache, LanguageEncoder

TEXTS = [
    "a black dog running on grass",
    "a red kite in the sky",
    "a black dog running on grass",
    "",
    "  ",
    "a man surfing a big wave",
    "a red kite in the sky",
]
UNIQUE = ["a black dog running on grass", "a red kite in the sky", "a man surfing a big wave"]


def test_model_called_once_per_unique_text(
    minilm: LanguageEncoder, tmp_path: Path, count_forward: Any
) -> None:
    with count_forward(minilm) as count:
        cache = EmbeddingCache(tmp_path, minilm)
        assert cache.warm(TEXTS) == 3
        assert (count.calls, count.texts) == (1, 3)  # one batch, one model call, blanks never encoded
        assert cache.warm(TEXTS) == 0
        first = cache.get_many(TEXTS)
        assert set(first) == set(UNIQUE) and first.get("  ") is None
        assert cache.get(UNIQUE[0]) is not None and cache.get("") is None
        assert count.texts == 3

        reopened = EmbeddingCache(tmp_path, minilm)  # a fresh object on the same directory
        again = reopened.get_many(TEXTS)
        assert count.texts == 3 and reopened.stats["disk_hits"] == 3 and reopened.stats["computed"] == 0
        for text in UNIQUE:
            assert torch.equal(again[text], first[text])  # the disk round trip is exact
            torch.testing.assert_close(first[text], minilm.encode([text])[0], atol=1e-6, rtol=0)
        count.calls = count.texts = 0
        assert reopened.get("a new description") is not None
        assert (count.calls, count.texts) == (1, 1)

    # A warm cache never loads BERT: a brand-new encoder stays unloaded.
    lazy = LanguageEncoder("minilm")
    assert EmbeddingCache(tmp_path, lazy).get_many(UNIQUE).keys() == set(UNIQUE)
    assert not lazy.loaded


def test_returned_tensors_are_copies(minilm: LanguageEncoder) -> None:
    cache = EmbeddingCache(None, minilm)
    v = cache.get(UNIQUE[0])
    assert v is not None
    v.zero_()
    assert cache.get(UNIQUE[0]).abs().sum() > 0  # type: ignore[union-attr]


def test_memory_only_cache_writes_nothing(
    minilm: LanguageEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cache = EmbeddingCache(None, minilm)
    assert cache.path_for("x") is None and cache.get("a cat") is not None
    assert list(tmp_path.iterdir()) == []


def test_stack_marks_missing_descriptions(minilm: LanguageEncoder) -> None:
    cache = EmbeddingCache(None, minilm)
    emb, has = cache.stack(["a cat", "", None, "a cat"])
    assert emb.shape == (4, 384) and has.tolist() == [True, False, False, True]
    assert emb[1:3].abs().sum() == 0 and torch.equal(emb[0], emb[3])


def test_cache_survives_a_new_process(minilm: LanguageEncoder, tmp_path: Path) -> None:
    here = EmbeddingCache(tmp_path, minilm).get_many(UNIQUE)
    script = (
        "import json, sys\n"
        "from nasvl.language import EmbeddingCache, LanguageEncoder\n"
        "enc = LanguageEncoder('minilm')\n"
        f"got = EmbeddingCache({str(tmp_path)!r}, enc).get_many({UNIQUE!r})\n"
        "print(json.dumps({'loaded': enc.loaded, 'transformers': 'transformers' in sys.modules,\n"
        "                  'values': {t: v.tolist() for t, v in got.items()}}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=root, check=True
    )
    report = json.loads(result.stdout)
    assert report["loaded"] is False and report["transformers"] is False
    for text in UNIQUE:
        assert torch.equal(torch.tensor(report["values"][text]), here[text])


def test_corrupt_files_are_recomputed_with_a_warning(
    minilm: LanguageEncoder, tmp_path: Path, count_forward: Any
) -> None:
    good = EmbeddingCache(tmp_path, minilm).get_many(UNIQUE)
    cache = EmbeddingCache(tmp_path, minilm)
    garbage, truncated, wrong_shape = (cache.path_for(t) for t in UNIQUE)
    assert garbage and truncated and wrong_shape
    garbage.write_bytes(b"\x00not a safetensors file")
    truncated.write_bytes(truncated.read_bytes()[:-100])
    meta = {"format": "nasvl-embedding-v1", "model_id": cache.model_id, "text": UNIQUE[2]}
    save_file({"embedding": torch.zeros(7)}, str(wrong_shape), metadata=meta)

    with count_forward(minilm) as count, pytest.warns(CacheCorruptWarning) as caught:
        fixed = cache.get_many(UNIQUE)
    assert len(caught) == 3 and count.texts == 3 and cache.stats["recomputed_corrupt"] == 3
    assert "wrong shape" in str(caught[2].message)
    for text in UNIQUE:
        torch.testing.assert_close(fixed[text], good[text], atol=1e-6, rtol=0)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rewritten files are clean
        EmbeddingCache(tmp_path, minilm).get_many(UNIQUE)


def test_keys_separate_models_and_exact_texts(minilm: LanguageEncoder, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, minilm)
    other = EmbeddingCache(tmp_path, LanguageEncoder("minilm", max_length=16))
    assert cache.path_for("a cat") != other.path_for("a cat")
    assert cache.path_for("a cat") != cache.path_for("a cat ")
