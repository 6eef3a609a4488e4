"""The ModaMixer (paper Eq. 1) and the per-sample language input it consumes.

    f_m = Post(Linear(f_l) ⊙ f_v) + Pre(f_v)

`f_l` is a sentence embedding (B, d). Samples without a description take either
the paper's 0-tensor or a *template embedding*: the template feature of the
same stage, ROI-pooled inside the template box at that stage's own stride and
projected to d (the official code pools every stage at stride 8, which is wrong
for the stride-4 stage).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class LanguageInput:
    """Per-sample language for one batch.

    embedding:    (B, d) sentence embeddings; rows where `has_text` is False are ignored.
    has_text:     (B,) bool.
    use_template: (B,) bool or None; rows without text use the template embedding when True, zeros otherwise.
    template_box: (B, 4) xyxy in template-crop pixels; required when any row uses the template embedding.
    """

    embedding: torch.Tensor
    has_text: torch.Tensor
    use_template: torch.Tensor | None = None
    template_box: torch.Tensor | None = None

    @classmethod
    def none(cls, batch: int, dim: int, device: torch.device | str = "cpu") -> LanguageInput:
        """No description for any sample: the `zeros` treatment."""
        return cls(torch.zeros(batch, dim, device=device), torch.zeros(batch, dtype=torch.bool, device=device))

    @classmethod
    def from_texts(cls, embeddings: list[torch.Tensor | None], dim: int, *, use_template: bool = False,
                   template_box: torch.Tensor | None = None) -> LanguageInput:
        """Build from a list of optional embeddings (None = no description)."""
        rows = [e if e is not None else torch.zeros(dim) for e in embeddings]
        has = torch.tensor([e is not None for e in embeddings], dtype=torch.bool)
        fallback = torch.full_like(has, use_template) if use_template else None
        return cls(torch.stack(rows).float(), has, fallback, template_box)


def roi_pool(feature: torch.Tensor, boxes: torch.Tensor, stride: int, samples: int = 4) -> torch.Tensor:
    """Average of a samples×samples bilinear grid inside each box (ROI-Align with one bin).

    `boxes` are xyxy in input-image pixels; `stride` maps them onto this feature map.
    """
    b, _, h, w = feature.shape
    # Bin centres in image pixels, then normalised to grid_sample's [-1, 1] (align_corners=False).
    t = (torch.arange(samples, device=feature.device, dtype=feature.dtype) + 0.5) / samples
    x0, y0, x1, y1 = boxes.to(feature.dtype).unbind(-1)
    xs = x0[:, None] + (x1 - x0)[:, None] * t[None]
    ys = y0[:, None] + (y1 - y0)[:, None] * t[None]
    gx = 2 * xs / (stride * w) - 1
    gy = 2 * ys / (stride * h) - 1
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)  # (B, S, S, 2)
    sampled = F.grid_sample(feature, grid, mode="bilinear", align_corners=False)
    return sampled.mean(dim=(2, 3))


class ModaMixer(nn.Module):
    """One mixer: a language projection (d→C channel selector) between a searched pre and post block.

    `pre` is None when the stage's last backbone layer plays pre (placement `last_layer`); the
    network then adds that layer's output itself. `projection` is `linear` (nn.Linear, key
    `linear`) or `conv_bn` (the official token_map: 1×1 conv without bias + BN, key `token_map`).
    """

    def __init__(self, channels: int, language_dim: int, pre: nn.Module | None, post: nn.Module,
                 projection: str = "linear") -> None:
        super().__init__()
        if projection == "conv_bn":
            self.token_map = nn.Sequential(nn.Conv2d(language_dim, channels, 1, bias=False),
                                           nn.BatchNorm2d(channels))
        else:
            self.linear = nn.Linear(language_dim, channels)
        self.pre = pre
        self.post = post

    def select(self, f_l: torch.Tensor) -> torch.Tensor:
        """(B, C, 1, 1) channel selector of a (B, d) sentence embedding; cacheable per video."""
        if hasattr(self, "token_map"):
            return self.token_map(f_l[:, :, None, None])
        return self.linear(f_l)[:, :, None, None]

    def mixed(self, f_v: torch.Tensor, selector: torch.Tensor, post_op: str) -> torch.Tensor:
        """Post(selector ⊙ f_v), the language half of Eq. 1."""
        return self.post(selector * f_v, post_op)

    def forward(self, f_v: torch.Tensor, f_l: torch.Tensor, pre_op: str, post_op: str) -> torch.Tensor:
        if self.pre is None:
            raise TypeError("this mixer's pre block is the stage's last layer; the network adds it")
        return self.mixed(f_v, self.select(f_l), post_op) + self.pre(f_v, pre_op)


class TemplateEmbedder(nn.Module):
    """Projects a stage's ROI-pooled template feature to the language width (the `template` fallback)."""

    def __init__(self, channels: int, language_dim: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.proj = nn.Linear(channels, language_dim)

    def forward(self, f_v: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        return self.proj(roi_pool(f_v, boxes, self.stride))


def stage_language(lang: LanguageInput | None, f_v: torch.Tensor, dim: int,
                   embedder: TemplateEmbedder | None) -> torch.Tensor:
    """Resolve the (B, d) language vector of one stage, sample by sample."""
    b = f_v.shape[0]
    if lang is None:
        return f_v.new_zeros(b, dim)
    has = lang.has_text.to(f_v.device)[:, None]
    f_l = torch.where(has, lang.embedding.to(f_v.device, f_v.dtype), f_v.new_zeros(()))
    if lang.use_template is not None and embedder is not None:
        need = lang.use_template.to(f_v.device) & ~lang.has_text.to(f_v.device)
        if bool(need.any()):
            if lang.template_box is None:
                raise ValueError("the template fallback needs LanguageInput.template_box")
            f_l = torch.where(need[:, None], embedder(f_v, lang.template_box.to(f_v.device)), f_l)
    return f_l
