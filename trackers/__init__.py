"""Built-in tracker plugins (entry point `nasvl.trackers: builtin = trackers`).

Importing this package registers, through the engine's registries only:
  - the `bottleneck` op (ResNet-50 spaces),
  - the tracker plugins vlt_scar, vlt_scar_tiny, siamcar, siamcar_tiny (SiamCAR head) and
    vlt_tt, vlt_tt_tiny, transt, transt_tiny (TransT-style head),
  - their inference trackers and hyper-parameter files (`trackers/params/*.yaml`).
"""

from __future__ import annotations

from nasvl.tracking.tracker import build_tracker, load_params
from trackers import resnet_ops, scar, scar_tracker, tt, tt_tracker  # noqa: F401  (registration)
from trackers.hparams import ScarParams, TTParams

__all__ = ["ScarParams", "TTParams", "build_tracker", "load_params"]
