"""`SiameseTracker`: the per-video plumbing every Siamese inference tracker shares.

It crops the template and search regions pysot-style (context 0.5, template/search sizes
from the space's branch inputs, mean-colour padding), runs the template branch once per
video (template features and the per-stage language vectors are cached, so the language
embedding and the template-embedding fallback cost nothing per frame), and runs only the
search branch and the head on each frame, through its `Engine` (`nasvl.deploy.runtimes`: the
plain or folded torch network, or ONNX graphs). Subclasses turn head outputs into a box.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from nasvl.data.crops import CONTEXT, context_size, mean_color
from nasvl.deploy.runtimes import Engine, TorchEngine
from nasvl.errors import ConfigError
from nasvl.supernet.mixer import LanguageInput
from nasvl.supernet.network import Network
from nasvl.tracking.inference import crop_tensor
from nasvl.tracking.tracker import EmbedText, LanguageFallback, Tracker


class SiameseTracker(Tracker):
    def __init__(self, net: Network, arch: Mapping[str, str], params: Any, *,
                 embed_text: EmbedText | None = None, device: str | torch.device = "cpu",
                 language_fallback: LanguageFallback = "zeros") -> None:
        if net.plugin is None or net.head is None:
            raise ConfigError(f"space {net.space.name!r} has no tracker head", file=net.space.file)
        self.device = torch.device(device)
        self.net = net.to(self.device).eval()
        self.arch = arch
        self.params = params
        self.plugin = net.plugin
        self.space = net.space
        self.embed_text = embed_text
        self.language_fallback = language_fallback
        self.template_size = self.space.input_size("template")
        self.search_size = self.space.input_size("search")
        self.context = float(getattr(params, "context", CONTEXT))
        self.center = np.zeros(2)
        self.size = np.ones(2)
        self._template: Any = None
        # The plain network until `use_engine` (build_tracker picks the runtime: folded torch, ONNX…).
        self.engine: Engine = TorchEngine(self.net, arch, plain=True)

    def use_engine(self, engine: Engine) -> None:
        """Run the network through `engine` from the next `initialize` on."""
        self.engine = engine
        self._template = None

    # ---- geometry -------------------------------------------------------------------------
    def template_side(self) -> float:
        """Side, in frame pixels, of the square template crop around the current box."""
        return context_size(float(self.size[0]), float(self.size[1]), self.context)

    def search_side(self) -> float:
        return self.template_side() * self.search_size / self.template_size

    def crop(self, frame: np.ndarray, side: float, out_size: int) -> torch.Tensor:
        """The network input: a `side` square around the current centre, resized to `out_size`."""
        return crop_tensor(frame, self.center, side, out_size, self.avg_chans, self.device)

    # ---- language -------------------------------------------------------------------------
    def language_input(self, text: str | None, template_box: torch.Tensor) -> LanguageInput | None:
        """The per-video language of a VL space; None for vision-only spaces (they ignore text)."""
        mixer = self.space.mixer
        if mixer is None:
            return None
        embedding = None
        if text is not None and text.strip():
            if self.embed_text is None:
                raise ConfigError(f"a description was given but the tracker has no language model: space "
                                  f"{self.space.name!r} needs {mixer.language_dim}-d sentence embeddings "
                                  "(pass embed_text=EmbeddingCache(...).get to build_tracker; an imported "
                                  "official model needs its 768-d BERT, e.g. a local bert-base-uncased folder)")
            embedding = self.embed_text(text)
        if embedding is not None:
            embedding = embedding.detach().float().reshape(-1)
            if embedding.numel() != mixer.language_dim:
                raise ConfigError(f"the text embedding has {embedding.numel()} dims but space "
                                  f"{self.space.name!r} expects language_dim {mixer.language_dim}",
                                  file=self.space.file)
        use_template = self.language_fallback == "template"
        return LanguageInput.from_texts([embedding], mixer.language_dim, use_template=use_template,
                                        template_box=template_box.to(self.device) if use_template else None)

    # ---- the Tracker interface ------------------------------------------------------------
    @torch.no_grad()
    def initialize(self, frame: np.ndarray, box_xywh: Sequence[float], text: str | None = None) -> None:
        x, y, w, h = (float(v) for v in box_xywh)
        if not (np.isfinite([x, y, w, h]).all() and w > 0 and h > 0):
            raise ValueError(f"the initial box must be finite with positive size, got {list(box_xywh)}")
        self.center = np.array([x + w / 2, y + h / 2])
        self.size = np.array([w, h])
        self.avg_chans = mean_color(frame)
        side = self.template_side()
        z = self.crop(frame, side, self.template_size)
        scale = self.template_size / side
        c = self.template_size / 2
        box = torch.tensor([[c - w * scale / 2, c - h * scale / 2, c + w * scale / 2, c + h * scale / 2]])
        lang = self.language_input(text, box)
        self._template = self.engine.template(z, lang)
        self.on_initialize(frame)

    def on_initialize(self, frame: np.ndarray) -> None:
        """Hook for per-video state (windows, etc.)."""

    @torch.no_grad()
    def search(self, frame: np.ndarray) -> tuple[dict[str, torch.Tensor], float]:
        """Head outputs for the search crop around the current state, and the crop scale (px→crop)."""
        if self._template is None:
            raise RuntimeError("call initialize() before track()")
        side = self.search_side()
        x = self.crop(frame, side, self.search_size)
        return self.engine.search(x, self._template), self.search_size / side

    @abstractmethod
    def track(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """Decode `self.search(frame)` into the new state and return (x,y,w,h, score)."""

    def box(self) -> np.ndarray:
        return np.array([self.center[0] - self.size[0] / 2, self.center[1] - self.size[1] / 2,
                         self.size[0], self.size[1]])
