"""TransT's feature fusion network and prediction heads (Chen et al., CVPR 2021), as nn.Modules.

Per branch a 1×1 projection to d_model (separate weights per branch), DETR's sine
positional encoding, `layers` feature-fusion layers (self-attention on each branch, then
cross-attention both ways, each with an FFN), a final cross-attention of the search tokens
over the template tokens, and MLP heads: 2-way cls logits and a sigmoid cxcywh box
normalised to the search crop, for every search position.

Two switches give the official VLT-TT fusion (JudasDie/SOTS `trans_fuse.py`): `attention:
output_only` (queries, keys and values are the tokens themselves, split into heads, and only
the attention output is projected, by a bias-free Linear) and `decoder_norm` (a LayerNorm after
the final cross-attention block, as TransT's decoder has).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sine_position(h: int, w: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(h·w, dim) DETR PositionEmbeddingSine(normalize=True): half the channels for y, half for x."""
    half = dim // 2
    eps = 1e-6  # DETR's (and the official VLT-TT's) normaliser: cumsum / (last + eps) · 2π
    y = (torch.arange(1, h + 1, device=device, dtype=dtype) / (h + eps)) * 2 * math.pi
    x = (torch.arange(1, w + 1, device=device, dtype=dtype) / (w + eps)) * 2 * math.pi
    freq = 10000 ** (2 * (torch.arange(half, device=device, dtype=dtype) // 2) / half)

    def encode(v: torch.Tensor) -> torch.Tensor:
        p = v[:, None] / freq
        return torch.stack((p[:, 0::2].sin(), p[:, 1::2].cos()), dim=2).flatten(1)

    py, px = encode(y), encode(x)  # (h, half), (w, half)
    pos = torch.cat((py[:, None, :].expand(h, w, half), px[None, :, :].expand(h, w, half)), dim=-1)
    return pos.reshape(h * w, 2 * half)


class OutputOnlyAttention(nn.Module):
    """Multi-head attention without input projections; one bias-free output Linear (official VLT-TT)."""

    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.fc = nn.Linear(d, d, bias=False)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        b, d = q.shape[0], q.shape[2]

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(b, x.shape[1], self.heads, d // self.heads).transpose(1, 2)

        out = nn.functional.scaled_dot_product_attention(split(q), split(k), split(v))
        return self.fc(out.transpose(1, 2).reshape(b, q.shape[1], d))


class _Attend(nn.Module):
    """Attention + residual + LayerNorm; queries and keys carry the positional encoding (DETR)."""

    def __init__(self, d: int, heads: int, dropout: float, attention: str = "mha") -> None:
        super().__init__()
        self.attn: nn.Module = (OutputOnlyAttention(d, heads) if attention == "output_only"
                                else nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True))
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d)

    def forward(self, q: torch.Tensor, q_pos: torch.Tensor, kv: torch.Tensor, kv_pos: torch.Tensor) -> torch.Tensor:
        if isinstance(self.attn, OutputOnlyAttention):
            out = self.attn(q + q_pos, kv + kv_pos, kv)
        else:
            out = self.attn(q + q_pos, kv + kv_pos, kv, need_weights=False)[0]
        return self.norm(q + self.drop(out))


class _FFN(nn.Module):
    def __init__(self, d: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                 nn.Linear(hidden, d), nn.Dropout(dropout))
        self.norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.net(x))


class FusionLayer(nn.Module):
    """TransT's FeatureFusionLayer: ECA (self) on both branches, then CFA (cross) both ways."""

    def __init__(self, d: int, heads: int, ffn: int, dropout: float, attention: str = "mha") -> None:
        super().__init__()
        self.self_t, self.self_s = _Attend(d, heads, dropout, attention), _Attend(d, heads, dropout, attention)
        self.cross_t, self.cross_s = _Attend(d, heads, dropout, attention), _Attend(d, heads, dropout, attention)
        self.ffn_t, self.ffn_s = _FFN(d, ffn, dropout), _FFN(d, ffn, dropout)

    def forward(self, t: torch.Tensor, s: torch.Tensor, pt: torch.Tensor,
                ps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.self_t(t, pt, t, pt)
        s = self.self_s(s, ps, s, ps)
        t2 = self.ffn_t(self.cross_t(t, pt, s, ps))
        s2 = self.ffn_s(self.cross_s(s, ps, t, pt))
        return t2, s2


class MLP(nn.Module):
    def __init__(self, d: int, out: int, layers: int) -> None:
        super().__init__()
        dims = [d] * layers + [out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


class TTHead(nn.Module):
    def __init__(self, in_channels: int, d: int, heads: int, layers: int, ffn: int, dropout: float,
                 mlp_layers: int, attention: str = "mha", decoder_norm: bool = False) -> None:
        super().__init__()
        self.proj_t = nn.Conv2d(in_channels, d, 1)
        self.proj_s = nn.Conv2d(in_channels, d, 1)
        self.fusion = nn.ModuleList(FusionLayer(d, heads, ffn, dropout, attention) for _ in range(layers))
        self.decoder = _Attend(d, heads, dropout, attention)
        self.decoder_ffn = _FFN(d, ffn, dropout)
        self.decoder_norm = nn.LayerNorm(d) if decoder_norm else nn.Identity()
        self.cls = MLP(d, 2, mlp_layers)
        self.box = MLP(d, 4, mlp_layers)

    def template(self, template: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Projected template tokens (B, N, d) and their positional encoding: cached per video."""
        t = self.proj_t(template)
        pt = sine_position(t.shape[2], t.shape[3], t.shape[1], t.device, t.dtype)[None]
        return t.flatten(2).transpose(1, 2), pt

    def search(self, template_state: tuple[torch.Tensor, torch.Tensor],
               search: torch.Tensor) -> dict[str, torch.Tensor]:
        t, pt = template_state
        s = self.proj_s(search)
        ps = sine_position(s.shape[2], s.shape[3], s.shape[1], s.device, s.dtype)[None]
        s = s.flatten(2).transpose(1, 2)  # (B, N, d)
        for layer in self.fusion:
            t, s = layer(t, s, pt, ps)
        hs = self.decoder_norm(self.decoder_ffn(self.decoder(s, ps, t, pt)))
        return {"cls": self.cls(hs), "box": self.box(hs).sigmoid()}

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.search(self.template(template), search)
