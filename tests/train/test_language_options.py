"""Options beyond the paper that make the ModaMixer read the description (issue 13): embedding
normalisation against the training vocabulary, a language learning rate, text negatives."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from nasvl.data import Video
from nasvl.data.pairs import PairDataset, no_augmentation
from nasvl.data.pairs.mixing import parse_pairs_config
from nasvl.errors import ConfigError, DataError
from nasvl.export import load_subnet, save_subnet
from nasvl.space import parse_space_text
from nasvl.supernet import LanguageInput, build_supernet
from nasvl.train.config import OptimizerConfig
from nasvl.train.loop import build_optimizer, language_parameters
from tests.conftest import TINY_BACKBONE


def _space(norm: str | None):
    text = TINY_BACKBONE if norm is None else TINY_BACKBONE.replace("  language_dim: 12\n",
                                                                    f"  language_dim: 12\n  language_norm: {norm}\n")
    return parse_space_text(text, "tiny.yaml")


def _video(root: Path, name: str, description: str | None, combination: str | None) -> Video:
    frames = []
    for i in range(4):
        img = np.full((96, 128, 3), 60, np.uint8)
        img[20:36, 30 + i:54 + i] = (0, 0, 255)
        path = root / name / f"{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), img)
        frames.append(path)
    boxes = np.array([[30 + i, 20, 24, 16] for i in range(4)], float)
    attrs = {"combination": combination} if combination else {}
    return Video(name, frames, boxes, np.zeros(4, bool), description, attrs, "test")


@pytest.mark.parametrize("norm", ["center", "standardize"])
def test_language_norm_fits_and_round_trips_through_export(tmp_path, norm) -> None:
    space = _space(norm)
    net = build_supernet(space)
    vocab = torch.randn(20, 12) + 5.0  # a large common direction, as BERT-family sentence vectors have
    net.language_norm.fit(vocab)
    assert torch.allclose(net.language_norm.mean, vocab.mean(0))
    arch = space.sample(random.Random(0))
    sub = net.extract(arch).eval()
    save_subnet(sub, tmp_path / "exp")
    loaded = load_subnet(tmp_path / "exp")
    assert bool(loaded.language_norm.fitted)
    assert torch.equal(loaded.language_norm.mean, net.language_norm.mean)
    assert torch.equal(loaded.language_norm.scale, net.language_norm.scale)
    lang = LanguageInput(vocab[:2], torch.tensor([True, False]))
    normed = loaded.language_norm(lang).embedding
    assert torch.equal(normed[1], torch.zeros(12))  # no description stays "no description"
    assert torch.allclose(normed[0], (vocab[0] - vocab.mean(0)) * loaded.language_norm.scale)
    if norm == "standardize":  # mean squared norm d over the vocabulary
        all_rows = loaded.language_norm(LanguageInput(vocab, torch.ones(20, dtype=torch.bool))).embedding
        assert all_rows.pow(2).sum(1).mean().item() == pytest.approx(12, rel=1e-4)


def test_paper_space_has_no_norm_state_and_bad_value_is_located() -> None:
    net = build_supernet(_space(None))
    assert net.language_norm is None and not any("language_norm" in k for k in net.state_dict())
    with pytest.raises(ConfigError, match="language_norm.*whiten"):
        _space("whiten")


def test_language_projection_receives_gradient_and_own_lr() -> None:
    space = _space("standardize")
    net = build_supernet(space)
    net.language_norm.fit(torch.randn(8, 12) + 3)
    arch = space.sample(random.Random(1))
    lang = LanguageInput(torch.randn(2, 12) + 3, torch.ones(2, dtype=torch.bool))
    feats, _ = net.features("template", torch.randn(2, 3, 63, 63), arch, lang)
    feats[-1].pow(2).mean().backward()
    grads = [p.grad for p in language_parameters(net)]
    assert grads and any(g is not None and float(g.abs().sum()) > 0 for g in grads)
    groups = build_optimizer(net, OptimizerConfig(lr=0.01, language_lr_mult=5.0)).param_groups
    assert [g["name"] for g in groups] == ["backbone", "language", "head"]
    assert groups[1]["lr"] == pytest.approx(0.05)
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in language_parameters(net)}
    paper = build_optimizer(net, OptimizerConfig(lr=0.01)).param_groups
    assert [g["name"] for g in paper] == ["backbone", "head"]  # the paper's groups, old checkpoints resume


def test_text_negatives_relabel_the_configured_fraction(tmp_path) -> None:
    videos = [_video(tmp_path, "a", "the red square", "red square"),
              _video(tmp_path, "b", "a red square moving left", "red square"),
              _video(tmp_path, "c", "the blue circle", "blue circle"),
              _video(tmp_path, "d", None, None)]
    ds = PairDataset(videos, seed=0, negative_rate=0.0, pairs_per_epoch=400, text_negative_rate=0.5,
                     **no_augmentation())
    items = [ds[i] for i in range(len(ds))]
    flagged = [it for it in items if it["text_negative"]]
    described = [it for it in items if it["has_text"] and not it["text_negative"]] + flagged
    assert 0.4 < len(flagged) / len(described) < 0.6
    for it in flagged:
        assert it["negative"] and it["has_text"]
    # Another target: a red-square video's wrong description never names a red square.
    pool = ds._texts[0]
    rng = np.random.default_rng(0)
    assert {ds._wrong_text(rng, pool, videos[0]) for _ in range(20)} == {"the blue circle"}
    assert {ds._wrong_text(rng, pool, videos[2]) for _ in range(40)} == {"the red square", "a red square moving left"}
    assert not any(it["text_negative"] for it in items if not it["has_text"])
    plain = PairDataset(videos, seed=0, negative_rate=0.0, pairs_per_epoch=20, **no_augmentation())
    assert not any(plain[i]["text_negative"] for i in range(20))
    with pytest.raises(DataError, match="text_negative_rate"):
        PairDataset(videos, text_negative_rate=1.5)


def test_text_negative_rate_is_parsed_and_bounded() -> None:
    from nasvl.config import load_yaml_text

    node = load_yaml_text("sources: [{root: d, format: lasot}]\ntext_negative_rate: 0.3\n", "p.yaml").root
    assert parse_pairs_config(node).text_negative_rate == 0.3
    bad = load_yaml_text("sources: [{root: d, format: lasot}]\ntext_negative_rate: 2\n", "p.yaml").root
    with pytest.raises(ConfigError, match="text_negative_rate"):
        parse_pairs_config(bad)
