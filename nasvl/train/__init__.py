"""Training engine: supernet training and subnet retraining, in-process or on Ray Train."""

from __future__ import annotations

from nasvl.train.checkpoint import latest_checkpoint, load_checkpoint
from nasvl.train.config import TrainSpec, load_train_spec, parse_train_spec
from nasvl.train.loop import Trainer, TrainingDiverged, supernet_from_checkpoint
from nasvl.train.run import run_training

__all__ = ["TrainSpec", "Trainer", "TrainingDiverged", "latest_checkpoint", "load_checkpoint",
           "load_train_spec", "parse_train_spec", "run_training", "supernet_from_checkpoint"]
