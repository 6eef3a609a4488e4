"""SiamCAR-head tracker plugins: `vlt_scar` (paper §4.1) and `siamcar` (vision-only), each in the
sizes `full` and `tiny` (option `size`).

The head correlates the last `xcorr_stages` backbone stages. They must share one output
stride (the score-map stride); the template map is centre-cropped to `template_crop` so a
127/255 pair at stride 8 gives SiamCAR's 25×25 score map (32 − 8 + 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from nasvl.space import SearchSpace
from nasvl.space.tracker import TrackerPlugin, register_tracker
from trackers.checks import siamese_reason, stage_sizes
from trackers.hparams import PARAMS_DIR, ScarParams
from trackers.scar_head import ScarHead
from trackers.scar_loss import scar_loss
from trackers.scar_tracker import ScarTracker


@dataclass(frozen=True)
class ScarOptions:
    size: Literal["full", "tiny"] = "full"  # tiny: the defaults of ScarPlugin.SIZES["tiny"]
    hidden: int = 256               # neck, correlation and tower width (SiamCAR: 256)
    tower_depth: int = 4            # 3×3 conv + GroupNorm + ReLU layers per tower
    norm_groups: int = 32           # GroupNorm groups (must divide hidden)
    xcorr_stages: int = 3           # correlate the last N stages (paper: stages 2–4)
    template_crop: int = 8          # centre crop of the template map; 0 keeps it whole (official: 7)
    template_resize: int = 0        # bicubic resize of the template maps before the neck (official: 15)
    search_resize: int = 0          # bicubic resize of the search maps before the neck (official: 31)
    separate_necks: bool = False    # template and search necks of their own (official: true)
    ltrb: Literal["stride_exp", "exp"] = "stride_exp"  # official CARHead: exp, in crop pixels
    positive_ratio: float = 0.6     # a cell is positive when l,t,r,b > ratio × half box size
    cls_weight: float = 1.0
    reg_weight: float = 3.0
    cen_weight: float = 1.0


class ScarPlugin(TrackerPlugin):
    """SiamCAR head on backbone stages; outputs cls (B,2,H,W), cen (B,1,H,W), ltrb (B,4,H,W) crop px."""

    Options = ScarOptions
    SIZES = {"full": {}, "tiny": {"hidden": 32, "tower_depth": 1, "norm_groups": 8, "template_crop": 4}}
    uses_language = True
    conformance_options = {"size": "tiny"}
    inference = ScarTracker
    params_cls = ScarParams
    params_file = PARAMS_DIR / "vlt_scar.yaml"

    def _stages(self, space: SearchSpace) -> list[Any]:
        return list(space.stages[-self.options.xcorr_stages:])

    def check_space(self, space: SearchSpace) -> str | None:
        reason = siamese_reason(space, self.uses_language)
        if reason:
            return reason
        o = self.options
        if not 1 <= o.xcorr_stages <= len(space.stages):
            return f"xcorr_stages={o.xcorr_stages} but the backbone has {len(space.stages)} stages"
        if o.template_resize < 0 or o.search_resize < 0:
            return "template_resize and search_resize must be >= 0 (0 keeps the stage map as it is)"
        if o.hidden % o.norm_groups:
            return f"norm_groups={o.norm_groups} must divide hidden={o.hidden}"
        stages = self._stages(space)
        strides = {st.out_stride for st in stages}
        if len(strides) != 1:
            return (f"the correlated stages {[st.name for st in stages]} have different strides "
                    f"{sorted(strides)}; their score maps cannot be concatenated")
        t, s = self._map_sizes(space)
        k = o.template_crop if 0 < o.template_crop < t else t
        if k > s:
            return f"the template map ({k}×{k}) is larger than the search map ({s}×{s})"
        return None

    @property
    def stride(self) -> int:
        return self._stages(self.space)[-1].out_stride

    def _map_sizes(self, space: SearchSpace) -> tuple[int, int]:
        """Template and search map sides entering the correlation (after the optional resize)."""
        last = self._stages(space)[-1].name
        t, s = stage_sizes(space, "template")[last], stage_sizes(space, "search")[last]
        o = self.options
        return (o.template_resize or t), (o.search_resize or s)

    def score_size(self) -> int:
        t, s = self._map_sizes(self.space)
        k = self.options.template_crop if 0 < self.options.template_crop < t else t
        return s - k + 1

    def build_head(self, stage_channels: list[int]) -> nn.Module:
        o = self.options
        return ScarHead(stage_channels[-o.xcorr_stages:], o.hidden, o.tower_depth, o.norm_groups,
                        separate_necks=o.separate_necks, ltrb=o.ltrb)

    def head_template(self, head: nn.Module, template_feats: list[torch.Tensor]) -> list[torch.Tensor]:
        o = self.options
        return head.template(template_feats[-o.xcorr_stages:], o.template_crop, o.template_resize)

    def head_search(self, head: nn.Module, template_state: list[torch.Tensor],
                    search_feats: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        return head(template_state, search_feats[-self.options.xcorr_stages:], self.stride, self.options.search_resize)

    def head_forward(self, head: nn.Module, template_feats: list[torch.Tensor],
                     search_feats: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        return self.head_search(head, self.head_template(head, template_feats), search_feats)

    def loss(self, outputs: dict[str, torch.Tensor], batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        o = self.options
        return scar_loss(outputs, batch, stride=self.stride, size=self.space.input_size("search"),
                         positive_ratio=o.positive_ratio, weights=(o.cls_weight, o.reg_weight, o.cen_weight))


@register_tracker("vlt_scar")
class VltScar(ScarPlugin):
    pass


@register_tracker("siamcar")
class SiamCar(ScarPlugin):
    uses_language = False
    params_file = PARAMS_DIR / "siamcar.yaml"  # SiamCAR decodes like VLT-SCAR; only its parameters differ
