"""Importers for official checkpoints: the SPOS ImageNet supernet and released SOTS VLT models.

Both are strict (every key accounted for) and safe (`torch.load(weights_only=True)` only).
"""

from __future__ import annotations

from nasvl.importers.checkpoint import ImportReport, apply_mapping, load_state_dict_file
from nasvl.importers.sots import SotsImport, import_sots, read_sots_config, write_language
from nasvl.importers.spos import SposClassifier, import_spos_supernet

__all__ = [
    "ImportReport", "SotsImport", "SposClassifier", "apply_mapping", "import_sots", "import_spos_supernet",
    "load_state_dict_file", "read_sots_config", "write_language",
]
