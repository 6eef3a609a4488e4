"""nasvl: neural architecture search for vision-language Siamese trackers.

The public API, imported lazily so `import nasvl` stays cheap (torch, Ray and
transformers load only when the part that needs them is used)::

    space = nasvl.load_space("search_spaces/vlt_scar.yaml")
    supernet = nasvl.build_supernet(space)
    subnet = supernet.extract(space.sample(random.Random(0)))
    nasvl.save_subnet(subnet, "export/"); nasvl.load_subnet("export/")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_space": "nasvl.space", "SearchSpace": "nasvl.space", "ChoiceBlock": "nasvl.space",
    "Architecture": "nasvl.space", "from_cand": "nasvl.space", "to_cand": "nasvl.space",
    "build_supernet": "nasvl.supernet", "Supernet": "nasvl.supernet", "Subnet": "nasvl.supernet",
    "LanguageInput": "nasvl.supernet", "recalibrate_bn": "nasvl.supernet",
    "register_op": "nasvl.ops", "CostModel": "nasvl.cost",
    "save_subnet": "nasvl.export", "load_subnet": "nasvl.export",
    "Strategy": "nasvl.search.strategy", "register_strategy": "nasvl.search.strategy",
    "TrialResult": "nasvl.search.result",
    "TrackerPlugin": "nasvl.space.tracker", "register_tracker": "nasvl.space.tracker",
    "Tracker": "nasvl.tracking.tracker", "build_tracker": "nasvl.tracking.tracker",
    "load_dataset": "nasvl.data", "Video": "nasvl.data",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'nasvl' has no attribute {name!r}")
