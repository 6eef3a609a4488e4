"""Conformance suite for tracker plugins (like `nasvl.testing.strategies`): import it to test your own.

Every check takes a registered tracker name and raises AssertionError on a violation::

    import pytest
    from nasvl.space.tracker import TRACKERS
    from nasvl.testing.trackers import CHECKS

    @pytest.mark.parametrize("name", TRACKERS.names())
    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_tracker_conformance(name, check):
        check(name)

The checks build the plugin on a small shared backbone (`conformance_space`), with a mixer when
the plugin reads language, and the plugin's `conformance_options` (ours: `{size: tiny}`). What a
plugin promises the engine: a complete contract (options, inference tracker, parameter file), a
score map of `score_size()` cells `stride` pixels apart, a template/search split that computes what
the one-shot forward computes, a finite loss whose gradient reaches the head, and an inference
tracker that follows a moving target from the command-line entry point `build_tracker`.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import yaml

from nasvl.space import SearchSpace, parse_space_text
from nasvl.space.tracker import TRACKERS, TrackerPlugin
from nasvl.supernet import LanguageInput, Supernet, build_supernet

BACKBONE = """\
branches:
  template: {input: 63}
  search: {input: 127}
share_weights: true
backbone:
  stem: {channels: 8, kernel: 3, stride: 2}
  ops: [shuffle3, xception3]
  stages:
    stage1: {channels: 16, depth: 1, stride: 2}
    stage2: {channels: 24, depth: 2, stride: 2}
    stage3: {channels: 32, depth: 1, stride: 1, projection: true}
    stage4: {channels: 48, depth: 1, stride: 1, projection: true}
"""
MIXER = """\
mixer:
  language_dim: 16
  pre: {ops: [skip, shuffle3]}
  post: {ops: [shuffle3, xception3]}
"""


def conformance_space(name: str) -> SearchSpace:
    plugin = TRACKERS.get(name)
    tracker = {"tracker": {"name": name, "options": dict(plugin.conformance_options)}}
    text = f"name: conformance_{name}\n{BACKBONE}{MIXER if plugin.uses_language else ''}{yaml.safe_dump(tracker)}"
    return parse_space_text(text, f"conformance_{name}.yaml")


def _network(name: str) -> tuple[Supernet, SearchSpace, Any]:
    torch.manual_seed(0)
    space = conformance_space(name)
    return build_supernet(space), space, space.sample(random.Random(0))


def conformance_inputs(space: SearchSpace, batch: int = 2) -> tuple[torch.Tensor, torch.Tensor, LanguageInput | None,
                                                          dict[str, torch.Tensor]]:
    """Random crops, one sentence and one template fallback, and a training batch's boxes."""
    g = torch.Generator().manual_seed(0)
    t, s = space.input_size("template"), space.input_size("search")
    z = torch.rand(batch, 3, t, t, generator=g) * 255
    x = torch.rand(batch, 3, s, s, generator=g) * 255
    lang = None
    if space.mixer is not None:
        box = torch.tensor([[t * 0.3, t * 0.3, t * 0.7, t * 0.7]] * batch)
        embs = [torch.randn(space.mixer.language_dim, generator=g)] + [None] * (batch - 1)
        lang = LanguageInput.from_texts(embs, space.mixer.language_dim, use_template=True, template_box=box)
    s_box = torch.tensor([[s * 0.35, s * 0.4, s * 0.65, s * 0.6]] * batch)
    targets = {"search_box": s_box, "template_box": s_box * t / s,
               "negative": torch.tensor([False] * (batch - 1) + [True])}
    return z, x, lang, targets


def check_contract_is_complete(name: str) -> None:
    from nasvl.tracking.tracker import load_params

    plugin: type[TrackerPlugin] = TRACKERS.get(name)
    assert issubclass(plugin, TrackerPlugin), f"{name!r}: not a TrackerPlugin"
    assert dataclasses.is_dataclass(plugin.Options), f"{name!r}: Options must be a dataclass"
    options = plugin.Options()  # every option has a default
    for size, defaults in plugin.SIZES.items():
        unknown = set(defaults) - {f.name for f in dataclasses.fields(options)}
        assert not unknown, f"{name!r}: size {size!r} sets unknown options {sorted(unknown)}"
    assert plugin.inference is not None and plugin.params_cls is not None and plugin.params_file is not None, \
        f"{name!r}: name its inference tracker, params_cls and params_file"
    assert isinstance(load_params(name), plugin.params_cls), f"{name!r}: its default parameter set does not parse"
    conformance_space(name)  # the plugin accepts a plain space of its kind (check_space)


def check_score_map_geometry(name: str) -> None:
    net, space, arch = _network(name)
    plugin = net.plugin
    assert plugin is not None
    n, stride = plugin.score_size(), plugin.stride
    assert n >= 1 and stride >= 1, f"{name!r}: score_size {n}, stride {stride}"
    assert (n - 1) * stride < space.input_size("search"), f"{name!r}: {n} cells {stride} px apart leave the crop"
    z, x, lang, _ = conformance_inputs(space)
    with torch.no_grad():
        outputs = net.eval()(z, x, arch=arch, lang=lang)
    for key, out in outputs.items():
        per_cell = tuple(out.shape[-2:]) == (n, n) or (out.dim() == 3 and out.shape[1] == n * n)
        assert per_cell, f"{name!r}: output {key!r} of shape {tuple(out.shape)} is not per cell of a {n}×{n} map"


def check_two_phases_equal_one_forward(name: str) -> None:
    net, space, arch = _network(name)
    z, x, lang, _ = conformance_inputs(space)
    net.eval()
    with torch.no_grad():
        t_feats, _ = net.features("template", z, arch, lang)
        cache = net.template(z, arch, lang)
        two = net.search(x, cache, arch)
        s_feats, _ = net.features("search", x, arch, selectors=cache.selectors if net.mixers else None)
        one = net.plugin.head_forward(net.head, t_feats, s_feats)  # type: ignore[union-attr,arg-type]
    assert two.keys() == one.keys(), f"{name!r}: head_search gives {sorted(two)}, head_forward {sorted(one)}"
    for key in one:
        torch.testing.assert_close(two[key], one[key], msg=lambda m, k=key: f"{name!r}: {k}: {m}")


def check_loss_is_finite_and_trains_the_head(name: str) -> None:
    net, space, arch = _network(name)
    z, x, lang, targets = conformance_inputs(space)
    losses = net.train().plugin.loss(net(z, x, arch=arch, lang=lang), targets)  # type: ignore[union-attr]
    assert "total" in losses, f"{name!r}: the loss must return its weighted sum under 'total'"
    assert all(torch.isfinite(v).all() for v in losses.values()), f"{name!r}: non-finite loss {losses}"
    losses["total"].backward()
    grads = [p.grad for p in net.head.parameters() if p.requires_grad]  # type: ignore[union-attr]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads), f"{name!r}: head gradient"
    assert any(float(g.abs().sum()) > 0 for g in grads if g is not None), f"{name!r}: zero head gradient"


def check_inference_tracker_follows_a_video(name: str) -> None:
    from nasvl.bench.trackers import moving_shape_video
    from nasvl.tracking.run import track_video
    from nasvl.tracking.tracker import build_tracker

    net, space, arch = _network(name)
    subnet = net.extract(arch).eval()
    frames, boxes = moving_shape_video(6, width=160, height=120, seed=3)
    embed = (lambda _text: torch.ones(space.mixer.language_dim)) if space.mixer is not None else None
    tracker = build_tracker(subnet, embed_text=embed)
    got = track_video(tracker, frames, boxes[0], "a red ellipse" if embed else None, video=f"{name}-conformance")
    assert got.shape == (6, 4) and np.isfinite(got).all(), f"{name!r}: boxes {got}"
    assert all(w > 0 and h > 0 for _, _, w, h in got), f"{name!r}: a box without area"


CHECKS: list[Callable[[str], None]] = [
    check_contract_is_complete,
    check_score_map_geometry,
    check_two_phases_equal_one_forward,
    check_loss_is_finite_and_trains_the_head,
    check_inference_tracker_follows_a_video,
]
