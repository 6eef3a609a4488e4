"""The ModaMixer (paper Eq. 1) and the per-sample language input it consumes.

    f_m = Post(Linear(f_l) ⊙ f_v) + Pre(f_v)

`f_l` is a sentence embedding (B, d). Samples without a description take either
the paper's 0-tensor or a template fallback, in one of two forms (`mixer.template_token`):

* `pooled`: the template feature of the same stage, ROI-pooled inside the template box at
  that stage's own stride and projected to d (`TemplateEmbedder`), then through the mixer's
  language projection like a sentence.
* `official` (JudasDie/SOTS `vistoken_layers`): torchvision `roi_align` of the mixer input with
  a 3×3 output, `spatial_scale = 1/8` for *every* stage (the network stride; the stride-4
  stage is pooled as if it had stride 8, as the released models were trained),
  `sampling_ratio=-1` (adaptive: ceil(roi side / 3) samples per bin side), `aligned=False`;
  then Conv3×3 (with bias, no padding: 3×3 → 1×1) + BN + LeakyReLU(0.1). The (B, C, 1, 1)
  result *is* the channel selector: it bypasses the language projection (`TemplateToken`).
  The search branch reuses the template's selectors.
"""

from __future__ import annotations

import dataclasses
import math
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


class LanguageNorm(nn.Module):
    """Sentence-embedding normalisation against the training vocabulary (beyond the paper, issue 13).

    BERT-family mean-pooled sentence vectors share a large common direction (MiniLM on the
    synthetic benchmark: mean cosine 0.48 between different sentences, the mean vector 70 % of
    a sentence's norm), so Linear(f_l) is mostly one sentence-independent selector. `center`
    subtracts the vocabulary mean; `standardize` also scales so the mean squared norm is d
    (unit variance per dimension on average, what the projection's default init assumes).
    The statistics are buffers, so exports carry them and inference matches training;
    `fit` sets them once from the training sentences (`fitted` keeps an inherited fit).
    Rows without text stay zero: "no description" keeps its meaning.
    """

    def __init__(self, mode: str, dim: int) -> None:
        super().__init__()
        self.mode = mode
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(()))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def fit(self, embeddings: torch.Tensor) -> None:
        """Statistics of the (n, d) training sentence embeddings (each distinct sentence once)."""
        e = embeddings.to(self.mean.device, torch.float32)
        self.mean.copy_(e.mean(0))
        if self.mode == "standardize":
            power = (e - self.mean).pow(2).sum(1).mean().clamp_min(1e-12)
            self.scale.copy_((e.shape[1] / power).sqrt())
        self.fitted.fill_(True)

    def forward(self, lang: LanguageInput) -> LanguageInput:
        has = lang.has_text.to(lang.embedding.device)[:, None]
        normed = (lang.embedding - self.mean) * self.scale
        return dataclasses.replace(lang, embedding=torch.where(has, normed, torch.zeros_like(normed)))


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


def _roi_weights(start: float, end: float, size: int, bins: int) -> torch.Tensor:
    """(bins, size) weights of one axis of torchvision's ROI-Align (aligned=False, adaptive sampling).

    Bilinear sampling is separable, so a bin's average over its grid of samples is the outer
    product of a row and a column average; each axis is a small matrix over the feature's pixels.
    """
    extent = max(end - start, 1.0)  # aligned=False: malformed ROIs are forced to 1×1
    step = extent / bins
    grid = max(math.ceil(extent / bins), 1)  # sampling_ratio=-1
    weights = [[0.0] * size for _ in range(bins)]
    for b in range(bins):
        for i in range(grid):
            t = start + b * step + (i + 0.5) * step / grid
            if t < -1.0 or t > size:
                continue  # outside the map: the sample counts as 0 (still in the average)
            t = max(t, 0.0)
            low = int(t)
            if low >= size - 1:
                low = high = size - 1
                t = float(low)
            else:
                high = low + 1
            frac = t - low
            weights[b][low] += (1 - frac) / grid
            weights[b][high] += frac / grid
    return torch.tensor(weights, dtype=torch.float64)


def roi_align(feature: torch.Tensor, boxes: torch.Tensor, output_size: int, spatial_scale: float) -> torch.Tensor:
    """torchvision.ops.roi_align(feature, [one box per sample], output_size, spatial_scale,
    sampling_ratio=-1, aligned=False) without torchvision: (B, C, out, out).

    `boxes` (B, 4) are xyxy in input pixels; each sample has its own box. The sample positions
    depend on the box only (not on the data), so they are built on the host and applied with
    one einsum that autograd differentiates with respect to the feature.
    """
    _, _, h, w = feature.shape
    rows, cols = [], []
    for x0, y0, x1, y1 in boxes.detach().double().cpu().tolist():
        rows.append(_roi_weights(y0 * spatial_scale, y1 * spatial_scale, h, output_size))
        cols.append(_roi_weights(x0 * spatial_scale, x1 * spatial_scale, w, output_size))
    wy = torch.stack(rows).to(feature.device, feature.dtype)
    wx = torch.stack(cols).to(feature.device, feature.dtype)
    return torch.einsum("bph,bchw,bqw->bcpq", wy, feature, wx)


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


class TemplateToken(nn.Module):
    """The official no-description token (SOTS `vistoken_layers[k]`): a (B, C, 1, 1) channel selector."""

    roi_size = 3
    slope = 0.1  # LeakyReLU

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride  # the network stride for every stage, as in SOTS (see the module doc)
        self.layers = nn.Sequential(nn.Conv2d(channels, channels, self.roi_size), nn.BatchNorm2d(channels),
                                    nn.LeakyReLU(self.slope))

    def forward(self, f_v: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        return self.layers(roi_align(f_v, boxes, self.roi_size, 1.0 / self.stride))


@dataclass
class StageLanguage:
    """One stage's language for a batch, resolved from the template branch and reused by the search branch.

    f_l:       (B, d) sentence vectors (zeros or the pooled template embedding where there is no text).
    token:     (B, C, 1, 1) official template tokens, valid on the rows of `use_token`; None otherwise.
    """

    f_l: torch.Tensor
    token: torch.Tensor | None = None
    use_token: torch.Tensor | None = None

    def selector(self, mixer: ModaMixer) -> torch.Tensor:
        """(B, C, 1, 1) channel selector for `mixer`: its projection of f_l, or the token where one is used."""
        if self.token is None or self.use_token is None:
            return mixer.select(self.f_l)
        if bool(self.use_token.all()):
            return self.token
        # Project only the rows that keep f_l, so the projection's BN sees the same batch as in
        # SOTS (which runs either all tokens or all sentences).
        rows = (~self.use_token).nonzero().squeeze(1)
        return self.token.index_copy(0, rows, mixer.select(self.f_l[rows]))


def stage_language(lang: LanguageInput | None, f_v: torch.Tensor, dim: int,
                   embedder: TemplateEmbedder | TemplateToken | None) -> StageLanguage:
    """Resolve one stage's language, sample by sample, from the template branch's mixer input `f_v`."""
    b = f_v.shape[0]
    if lang is None:
        return StageLanguage(f_v.new_zeros(b, dim))
    has = lang.has_text.to(f_v.device)[:, None]
    f_l = torch.where(has, lang.embedding.to(f_v.device, f_v.dtype), f_v.new_zeros(()))
    if lang.use_template is None or embedder is None:
        return StageLanguage(f_l)
    need = lang.use_template.to(f_v.device) & ~lang.has_text.to(f_v.device)
    if not bool(need.any()):
        return StageLanguage(f_l)
    if lang.template_box is None:
        raise ValueError("the template fallback needs LanguageInput.template_box")
    boxes = lang.template_box.to(f_v.device)
    if isinstance(embedder, TemplateToken):
        rows = need.nonzero().squeeze(1)
        computed = embedder(f_v[rows], boxes[rows])
        token = computed.new_zeros(b, *computed.shape[1:]).index_copy(0, rows, computed)
        return StageLanguage(f_l, token, need)
    return StageLanguage(torch.where(need[:, None], embedder(f_v, boxes), f_l))
