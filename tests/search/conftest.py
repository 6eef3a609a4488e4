"""Shared fixtures for the search tests: a tiny trained supernet and a search config, built once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import train_config_text

# Ray workers inherit the driver's environment: keep them off the network like the tests.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Never let a test's ray.init() attach to a cluster someone else started on this machine.
os.environ.pop("RAY_ADDRESS", None)


@dataclass(frozen=True)
class SearchFixture:
    ckpt: Path          # supernet checkpoint (tiny space, a few SPOS steps)
    synth: Path         # synthetic benchmark root (train/val/test)
    cache_dir: Path     # warm embedding cache
    root: Path          # folder for configs written by `config()`

    def config_text(self, strategy: str = "random", options: str = "{budget: 4}", *, parallel: int = 2,
                    max_frames: int = 12, extra: str = "") -> str:
        return f"""\
name: tiny_search
val: {{root: {self.synth / 'val'}, format: lasot}}
pairs: {{sources: [{{root: {self.synth / 'train'}, format: lasot, lang_mode: template}}]}}
language: {{model: minilm, cache_dir: {self.cache_dir}}}
search:
  strategy: {strategy}
  options: {options}
  trials_in_parallel: {parallel}
  eval: {{max_frames: {max_frames}, recalibration_batches: 2, recalibration_batch_size: 4, latency_repeats: 2, \
threads: 1}}
{extra}"""

    def config(self, name: str, **kwargs: object) -> Path:
        path = self.root / f"{name}.yaml"
        path.write_text(self.config_text(**kwargs))  # type: ignore[arg-type]
        return path

    def spec(self, name: str = "search", **kwargs: object):
        from nasvl.search.config import load_search_spec

        return load_search_spec(self.config(name, **kwargs))


@pytest.fixture(scope="session")
def search_setup(synth_root, embed_cache_dir, tmp_path_factory) -> SearchFixture:
    """Train the tiny supernet once per session (~20 SPOS steps: weights need not be good, only real)."""
    from nasvl.config import load_yaml_text
    from nasvl.train import parse_train_spec, run_training
    from nasvl.train.checkpoint import list_checkpoints

    out = tmp_path_factory.mktemp("supernet")
    text = train_config_text(synth_root, embed_cache_dir, steps=20).replace("checkpoint_every: 2",
                                                                            "checkpoint_every: 20")
    run_training(parse_train_spec(load_yaml_text(text, "train.yaml").root), out / "run", phase="supernet")
    ckpt = list_checkpoints(out / "run" / "checkpoints")[-1]
    return SearchFixture(ckpt=ckpt, synth=Path(synth_root), cache_dir=Path(embed_cache_dir),
                         root=tmp_path_factory.mktemp("search_configs"))
