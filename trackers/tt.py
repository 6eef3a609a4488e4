"""TransT-style tracker plugins: `vlt_tt` (paper §4.1), `transt` (vision-only) and tiny variants.

The head reads the last backbone stage of each branch. Outputs: `cls` (B, N, 2) logits and
`box` (B, N, 4) sigmoid cxcywh in search-crop units, one row per search position
(N = H·W of the last search stage, row-major).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from nasvl.space import SearchSpace
from nasvl.space.tracker import TrackerPlugin, register_tracker
from trackers.checks import siamese_reason, stage_sizes
from trackers.hparams import PARAMS_DIR, TTParams
from trackers.tt_head import TTHead
from trackers.tt_loss import tt_loss
from trackers.tt_tracker import TTTracker


@dataclass(frozen=True)
class TTOptions:
    size: Literal["full", "tiny"] = "full"  # tiny: the defaults of TTPlugin.SIZES["tiny"]
    d_model: int = 256             # TransT: 256
    heads: int = 8
    layers: int = 4                # feature-fusion layers (TransT: 4)
    ffn: int = 2048
    dropout: float = 0.1
    mlp_layers: int = 3            # hidden layers of the cls/box MLPs
    ce_weight: float = 8.334       # TransT's loss weights
    l1_weight: float = 5.0
    giou_weight: float = 2.0
    background_weight: float = 0.0625
    # official VLT-TT (SOTS trans_fuse.py): output_only attention and a final decoder LayerNorm
    attention: Literal["mha", "output_only"] = "mha"
    decoder_norm: bool = False
    # Inference input of the official VLT-TT tracker (SOTS sot_tracker.py), set by `nasvl import sots`:
    # `imagenet_rgb` crops RGB and feeds (crop/255 − ImageNet mean)/std; `bgr255` is nasvl's training
    # format (BGR 0..255), so a network nasvl trained keeps it. `search_region: context` sizes the
    # search square by TransT's ceil(√((w+1.5(w+h))(h+1.5(w+h)))); `scaled` by the template side × 2.
    crop_input: Literal["bgr255", "imagenet_rgb"] = "bgr255"
    search_region: Literal["scaled", "context"] = "scaled"


class TTPlugin(TrackerPlugin):
    Options = TTOptions
    SIZES = {"full": {}, "tiny": {"d_model": 32, "heads": 2, "layers": 1, "ffn": 64, "mlp_layers": 2}}
    uses_language = True
    conformance_options = {"size": "tiny"}
    inference = TTTracker
    params_cls = TTParams
    params_file = PARAMS_DIR / "vlt_tt.yaml"

    def check_space(self, space: SearchSpace) -> str | None:
        reason = siamese_reason(space, self.uses_language)
        if reason:
            return reason
        if self.options.d_model % self.options.heads:
            return f"heads={self.options.heads} must divide d_model={self.options.d_model}"
        if self.options.d_model % 4:
            return f"d_model={self.options.d_model} must be a multiple of 4 (sine encoding halves)"
        return None

    @property
    def stride(self) -> int:
        return self.space.stages[-1].out_stride

    def score_size(self) -> int:
        return stage_sizes(self.space, "search")[self.space.stages[-1].name]

    def build_head(self, stage_channels: list[int]) -> nn.Module:
        o = self.options
        return TTHead(stage_channels[-1], o.d_model, o.heads, o.layers, o.ffn, o.dropout, o.mlp_layers,
                      o.attention, o.decoder_norm)

    def head_forward(self, head: nn.Module, template_feats: list[torch.Tensor],
                     search_feats: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        return head(template_feats[-1], search_feats[-1])

    def head_template(self, head: nn.Module, template_feats: list[torch.Tensor]) -> Any:
        # The fusion mixes both branches every frame; the template projection and encoding need not.
        return head.template(template_feats[-1])

    def head_search(self, head: nn.Module, template_state: Any,
                    search_feats: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        return head.search(template_state, search_feats[-1])

    def loss(self, outputs: dict[str, torch.Tensor], batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        o = self.options
        n = self.score_size()
        return tt_loss(outputs, batch, h=n, w=n, stride=self.stride, size=self.space.input_size("search"),
                       weights=(o.ce_weight, o.l1_weight, o.giou_weight), background_weight=o.background_weight)


@register_tracker("vlt_tt")
class VltTT(TTPlugin):
    pass


@register_tracker("transt")
class TransT(TTPlugin):
    uses_language = False
    params_file = PARAMS_DIR / "transt.yaml"  # TransT decodes like VLT-TT; only its parameters differ
