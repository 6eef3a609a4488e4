"""The one `Tracker` interface, and the registry that turns a network into one.

    tracker = build_tracker(load_subnet("export/"), benchmark="lasot", embed_text=cache.get)
    tracker.initialize(frame0, (x, y, w, h), text="a red ball rolling left")
    for frame in frames[1:]:
        box_xywh, score = tracker.track(frame)

Inference trackers live with their plugins (`trackers/`): a plugin names its tracker class,
hyper-parameter dataclass and YAML file (`TrackerPlugin.inference`, `params_cls`, `params_file`),
so the one `TRACKERS` registry serves training and inference, and the engine (the CLI, the
evaluator) never imports a tracker by name.

A hyper-parameter file maps benchmark names to one parameter set each:

    default: lasot
    benchmarks:
      lasot: {penalty_k: 0.04, window_influence: 0.3, lr: 0.33}
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from nasvl.config import load_yaml, parse_dataclass
from nasvl.errors import ConfigError, known
from nasvl.space.tracker import TRACKERS, TrackerPlugin

if TYPE_CHECKING:
    from nasvl.space import Architecture
    from nasvl.supernet import Subnet, Supernet

EmbedText = Callable[[str], "torch.Tensor | None"]
LanguageFallback = Literal["zeros", "template"]


class Tracker(ABC):
    """Single-object tracker: `initialize` once per video, then `track` every following frame.

    Frames are HWC uint8 BGR (as cv2 reads them); boxes are x, y, w, h in pixels.
    """

    @abstractmethod
    def initialize(self, frame: np.ndarray, box_xywh: Sequence[float], text: str | None = None) -> None:
        """Start a video from the first frame, its target box and an optional description."""

    @abstractmethod
    def track(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """The target's (4,) x,y,w,h box in `frame` and the tracker's confidence."""


def load_params(tracker: str, benchmark: str | None = None, path: str | Path | None = None) -> Any:
    """One benchmark's parameter set from `path` (default: the tracker's own file); its `default:` if None."""
    plugin = _inference_plugin(tracker)
    doc = load_yaml(path or plugin.params_file)
    root = doc.root
    root.check_keys({"default", "benchmarks"}, {"benchmarks"})
    sets = root.child("benchmarks")
    names = [str(k) for k, _ in sets.items()]
    if benchmark is None:
        if "default" not in root.mapping():
            raise root.error("no benchmark given and the file names no 'default'")
        benchmark = root.child("default").as_str()
    if benchmark not in names:
        blame = root.child("default") if benchmark == root.mapping().get("default") else sets
        raise blame.error(f"no parameters for benchmark {benchmark!r} {known(names)}")
    return parse_dataclass(plugin.params_cls, sets.child(benchmark))


def _inference_plugin(tracker: str) -> type[TrackerPlugin]:
    plugin = TRACKERS.get(tracker)
    if plugin.inference is None or plugin.params_cls is None or plugin.params_file is None:
        raise ConfigError(f"tracker {tracker!r} defines no inference tracker (inference, params_cls, params_file)")
    return plugin


def build_tracker(net: Subnet | tuple[Supernet, Architecture], params: Any = None, *,
                  embed_text: EmbedText | None = None, device: str | torch.device = "cpu",
                  language_fallback: LanguageFallback = "zeros", benchmark: str | None = None,
                  overrides: dict[str, Any] | None = None, runtime: str = "torch",
                  model_dir: str | Path | None = None) -> Tracker:
    """The inference tracker for a network whose space names a tracker.

    `net` is an exported/extracted `Subnet`, or `(supernet, arch)` to score a candidate
    without extracting it. `params` is a parameter dataclass, a YAML file in the format
    above, or None for the tracker's own file; `benchmark` picks the set (None: the file's
    default). `overrides` replaces single fields (e.g. {"window_influence": 0.4}).
    `embed_text(text)` returns the (d,) sentence embedding, or None for no description.
    The network is moved to `device` and put in eval mode (a supernet too: score candidates
    after `recalibrate_bn`, then switch it back to train mode yourself).
    `runtime` (`nasvl.deploy.runtimes.RUNTIMES`): `torch` runs a Subnet in its inference form
    (BN folded, inference_mode) and a `(supernet, arch)` candidate as it is (folding would copy
    the supernet); `torch-plain` runs the network as trained; `onnx` / `onnx-int8` run the graphs
    `nasvl export-onnx` wrote into the export directory `model_dir`.
    """
    from nasvl.deploy.runtimes import check_runtime, make_engine

    check_runtime(runtime)
    if isinstance(net, tuple):
        network, arch = net
    else:
        network, arch = net, net.arch
    space = network.space
    if space.tracker is None:
        raise ConfigError(f"space {space.name!r} has no tracker section; nothing to track with", file=space.file)
    if language_fallback not in ("zeros", "template"):
        raise ConfigError(f"language_fallback must be 'zeros' or 'template', got {language_fallback!r}")
    entry = _inference_plugin(space.tracker.name)
    if params is None or isinstance(params, (str, Path)):
        params = load_params(space.tracker.name, benchmark, params)
    elif not isinstance(params, entry.params_cls):
        raise ConfigError(f"tracker {space.tracker.name!r} takes {entry.params_cls.__name__} parameters, "
                          f"got {type(params).__name__}")
    if overrides:
        fields = {f.name for f in dataclasses.fields(params)}
        unknown = set(overrides) - fields
        if unknown:
            raise ConfigError(f"unknown tracker parameter(s) {sorted(unknown)} {known(fields)}")
        params = dataclasses.replace(params, **overrides)
    tracker = entry.inference(network, arch, params, embed_text=embed_text, device=device,
                            language_fallback=language_fallback)
    plain = runtime == "torch-plain" or (runtime == "torch" and isinstance(net, tuple))
    if hasattr(tracker, "use_engine"):
        tracker.use_engine(make_engine(runtime, network, arch, plain=plain, model_dir=model_dir,
                                       language_fallback=language_fallback, device=device))
    elif runtime not in ("torch", "torch-plain"):
        raise ConfigError(f"the {space.tracker.name!r} tracker runs only on torch (runtime {runtime!r} needs "
                          f"a Siamese tracker with a template/search engine)")
    return tracker
