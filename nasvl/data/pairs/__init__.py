"""Training pairs: template/search crops from videos (`dataset`), their augmentation (`augment`),
the mix of sources a config names (`mixing`), and debug plots (`debug`)."""

from __future__ import annotations

from nasvl.data.pairs.dataset import PairDataset, PairSource, no_augmentation

__all__ = ["PairDataset", "PairSource", "no_augmentation"]
