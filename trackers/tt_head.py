"""TransT's feature fusion network and prediction heads (Chen et al., CVPR 2021), as nn.Modules.

Per branch a 1×1 projection to d_model (separate weights per branch), DETR's sine
positional encoding, `layers` feature-fusion layers (self-attention on each branch, then
cross-attention both ways, each with an FFN), a final cross-attention of the search tokens
over the template tokens, and MLP heads: 2-way cls logits and a sigmoid cxcywh box
normalised to the search crop, for every search position.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sine_position(h: int, w: int, dim: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(h·w, dim) DETR PositionEmbeddingSine(normalize=True): half the channels for y, half for x."""
    half = dim // 2
    y = (torch.arange(1, h + 1, device=device, dtype=dtype) / h) * 2 * math.pi
    x = (torch.arange(1, w + 1, device=device, dtype=dtype) / w) * 2 * math.pi
    freq = 10000 ** (2 * (torch.arange(half, device=device, dtype=dtype) // 2) / half)

    def encode(v: torch.Tensor) -> torch.Tensor:
        p = v[:, None] / freq
        return torch.stack((p[:, 0::2].sin(), p[:, 1::2].cos()), dim=2).flatten(1)

    py, px = encode(y), encode(x)  # (h, half), (w, half)
    pos = torch.cat((py[:, None, :].expand(h, w, half), px[None, :, :].expand(h, w, half)), dim=-1)
    return pos.reshape(h * w, 2 * half)


class _Attend(nn.Module):
    """Attention + residual + LayerNorm; queries and keys carry the positional encoding (DETR)."""

    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d)

    def forward(self, q: torch.Tensor, q_pos: torch.Tensor, kv: torch.Tensor, kv_pos: torch.Tensor) -> torch.Tensor:
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

    def __init__(self, d: int, heads: int, ffn: int, dropout: float) -> None:
        super().__init__()
        self.self_t, self.self_s = _Attend(d, heads, dropout), _Attend(d, heads, dropout)
        self.cross_t, self.cross_s = _Attend(d, heads, dropout), _Attend(d, heads, dropout)
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
                 mlp_layers: int) -> None:
        super().__init__()
        self.proj_t = nn.Conv2d(in_channels, d, 1)
        self.proj_s = nn.Conv2d(in_channels, d, 1)
        self.fusion = nn.ModuleList(FusionLayer(d, heads, ffn, dropout) for _ in range(layers))
        self.decoder = _Attend(d, heads, dropout)
        self.decoder_ffn = _FFN(d, ffn, dropout)
        self.cls = MLP(d, 2, mlp_layers)
        self.box = MLP(d, 4, mlp_layers)

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> dict[str, torch.Tensor]:
        t, s = self.proj_t(template), self.proj_s(search)
        d = t.shape[1]
        pt = sine_position(t.shape[2], t.shape[3], d, t.device, t.dtype)[None]
        ps = sine_position(s.shape[2], s.shape[3], d, s.device, s.dtype)[None]
        t, s = t.flatten(2).transpose(1, 2), s.flatten(2).transpose(1, 2)  # (B, N, d)
        for layer in self.fusion:
            t, s = layer(t, s, pt, ps)
        hs = self.decoder_ffn(self.decoder(s, ps, t, pt))
        return {"cls": self.cls(hs), "box": self.box(hs).sigmoid()}
