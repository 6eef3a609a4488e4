"""Inference trackers on a synthetic video: finite boxes, language changes scores, params files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nasvl.errors import ConfigError
from nasvl.export import load_subnet, save_subnet
from nasvl.space.tracker import TRACKERS
from nasvl.tracking.tracker import Tracker, build_tracker, load_params
from tests.trackers.conftest import TINY, fake_embed, sample_arch, tiny_supernet


def _run(tracker: Tracker, frames: list[np.ndarray], box: np.ndarray, text: str | None) -> list[tuple]:
    tracker.initialize(frames[0], box, text=text)
    return [tracker.track(f) for f in frames[1:]]


@pytest.mark.parametrize("space_file", sorted(TINY))
def test_every_tracker_tracks_the_synthetic_video(space_file: str, synthetic_video, tmp_path: Path) -> None:
    frames, boxes = synthetic_video
    net, space = tiny_supernet(space_file)
    arch = sample_arch(space)
    net.eval()
    text = "the red ellipse moving right" if space.mixer else None
    on_supernet = build_tracker((net, arch), embed_text=fake_embed(), benchmark="lasot")
    results = _run(on_supernet, frames, boxes[0], text)
    # Exported subnet, loaded without the supernet: the same boxes.
    export = save_subnet(net.extract(arch), tmp_path / "export")
    on_export = build_tracker(load_subnet(export), embed_text=fake_embed())
    exported = _run(on_export, frames, boxes[0], text)
    h, w = frames[0].shape[:2]
    for (box, score), (box2, score2) in zip(results, exported, strict=True):
        assert box.shape == (4,) and np.isfinite(box).all() and np.isfinite(score)
        assert box[2] > 0 and box[3] > 0
        assert 0 <= box[0] + box[2] / 2 <= w and 0 <= box[1] + box[3] / 2 <= h
        np.testing.assert_allclose(box, box2, rtol=1e-4, atol=1e-3)
        assert score == pytest.approx(score2, abs=1e-4)


@pytest.mark.parametrize("space_file", ["tiny.yaml", "tiny_tt.yaml"])
def test_description_changes_the_scores(space_file: str, synthetic_video) -> None:
    frames, boxes = synthetic_video
    net, space = tiny_supernet(space_file)
    net.eval()
    tracker = build_tracker((net, sample_arch(space)), embed_text=fake_embed())

    def cls_after(text: str | None, fallback_tracker: Tracker = tracker) -> torch.Tensor:
        fallback_tracker.initialize(frames[0], boxes[0], text=text)
        out, _ = fallback_tracker.search(frames[1])  # type: ignore[attr-defined]
        return out["cls"]

    a, b = cls_after("a red ellipse"), cls_after("a small blue square")
    assert not torch.allclose(a, b)
    torch.testing.assert_close(cls_after("a red ellipse"), a)  # deterministic per description
    none = cls_after(None)
    assert not torch.allclose(none, a)
    template = build_tracker((net, sample_arch(space)), embed_text=fake_embed(), language_fallback="template")
    assert not torch.allclose(cls_after(None, template), none)  # the template embedding is really used


def test_vision_only_tracker_ignores_text(synthetic_video) -> None:
    frames, boxes = synthetic_video
    net, space = tiny_supernet("tiny_siamcar.yaml")
    net.eval()
    tracker = build_tracker((net, sample_arch(space)))
    first = _run(tracker, frames[:4], boxes[0], "ignored")
    second = _run(tracker, frames[:4], boxes[0], None)
    for (a, _), (b, _) in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_text_without_embedder_is_a_clear_error(synthetic_video) -> None:
    frames, boxes = synthetic_video
    net, space = tiny_supernet("tiny.yaml")
    tracker = build_tracker((net, sample_arch(space)))
    with pytest.raises(ConfigError, match="embed_text"):
        tracker.initialize(frames[0], boxes[0], text="a red ellipse")


def test_params_files_and_errors(tmp_path: Path) -> None:
    for name in TRACKERS.names():
        assert load_params(name) is not None  # every shipped file parses, default set included
    scar = load_params("vlt_scar", "lasot")
    assert (scar.penalty_k, scar.lr, scar.window_influence) == (0.04, 0.33, 0.3)
    assert load_params("vlt_tt", "lasot").window_influence == 0.49
    assert load_params("vlt_tt", "tnl2k").window_influence == 0.80
    with pytest.raises(ConfigError, match="no parameters for benchmark 'nope'"):
        load_params("vlt_scar", "nope")
    bad = tmp_path / "p.yaml"
    bad.write_text("default: a\nbenchmarks:\n  a: {penalty_k: 0.1, windw: 0.2}\n")
    with pytest.raises(ConfigError, match=r"p.yaml:3: .*windw"):
        load_params("vlt_scar", path=bad)


def test_overrides_and_wrong_params_type() -> None:
    net, space = tiny_supernet("tiny.yaml")
    arch = sample_arch(space)
    tracker = build_tracker((net, arch), overrides={"window_influence": 0.5})
    assert tracker.params.window_influence == 0.5  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="unknown tracker parameter"):
        build_tracker((net, arch), overrides={"windw": 0.5})
    with pytest.raises(ConfigError, match="takes ScarParams"):
        build_tracker((net, arch), params=load_params("vlt_tt"))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("space_file", ["tiny.yaml", "tiny_tt.yaml"])
def test_cuda_tracks_like_cpu(space_file: str, synthetic_video) -> None:
    frames, boxes = synthetic_video
    net, space = tiny_supernet(space_file)
    subnet = net.extract(sample_arch(space)).eval()
    cpu = _run(build_tracker(subnet, embed_text=fake_embed()), frames[:5], boxes[0], "a red ellipse")
    gpu = _run(build_tracker(subnet, embed_text=fake_embed(), device="cuda"), frames[:5], boxes[0], "a red ellipse")
    for (a, _), (b, _) in zip(cpu, gpu, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=0.5)
