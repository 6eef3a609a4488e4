"""Built-in tracker plugins (entry point `nasvl.trackers: builtin = trackers`).

Importing this package registers, through the engine's registries only:
  - the `bottleneck` op (ResNet-50 spaces),
  - the tracker plugins vlt_scar, siamcar (SiamCAR head) and vlt_tt, transt (TransT-style head),
    each in the sizes `full` and `tiny` (option `size`), with their inference trackers and
    hyper-parameter files (`trackers/params/*.yaml`).
"""

from __future__ import annotations

from nasvl.tracking.tracker import build_tracker, load_params
from trackers import resnet_ops, scar, tt  # noqa: F401  (registration)
from trackers.hparams import ScarParams, TTParams

__all__ = ["ScarParams", "TTParams", "build_tracker", "load_params"]
