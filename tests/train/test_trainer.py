from __future__ import annotations

import math

import pytest
import torch

from nasvl.config import load_yaml_text
from nasvl.errors import CheckpointError, ConfigError
from nasvl.export import load_subnet, save_subnet
from nasvl.train import TrainingDiverged, load_checkpoint, parse_train_spec, run_training
from nasvl.train.checkpoint import list_checkpoints, save_checkpoint
from nasvl.train.loop import supernet_from_checkpoint
from tests.conftest import train_config_text


def _spec(text: str, require_space: bool = True):
    return parse_train_spec(load_yaml_text(text, "train.yaml").root, require_space=require_space)


def _diverging_config(synth_root, embed_cache_dir) -> str:
    """A learning rate that grows 1e15-fold every 3 steps: the loss becomes NaN/inf within 40 steps."""
    return train_config_text(synth_root, embed_cache_dir, steps=40).replace(
        "  schedule: {warmup_steps: 2}", "  schedule: {name: step, step_size: 3, gamma: 1.0e+15}\n  optimizer: {grad_clip: null}")


def _state(path):
    return load_checkpoint(path)["model"]


def test_supernet_training_writes_checkpoints_and_logs(synth_root, embed_cache_dir, tmp_path) -> None:
    spec = _spec(train_config_text(synth_root, embed_cache_dir, steps=4))
    summary = run_training(spec, tmp_path / "run", phase="supernet")
    assert summary["step"] == 4 and math.isfinite(summary["last"]["total"])
    assert {"cls", "total"} <= set(summary["last"])
    ckpts = list_checkpoints(tmp_path / "run" / "checkpoints")
    assert [p.name for p in ckpts] == ["step_00000002.pt", "step_00000004.pt"]
    lines = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    assert len(lines) == 4 and '"pairs_per_s"' in lines[0]
    net, ckpt = supernet_from_checkpoint(ckpts[-1])
    assert ckpt["step"] == 4 and net.space.name == "tiny"


def test_resume_is_exact(synth_root, embed_cache_dir, tmp_path) -> None:
    spec = _spec(train_config_text(synth_root, embed_cache_dir, steps=6, extra="  deterministic: true\n"))
    run_training(spec, tmp_path / "a", phase="supernet")
    run_training(spec, tmp_path / "b", phase="supernet", stop_at=3)
    assert [p.name for p in list_checkpoints(tmp_path / "b" / "checkpoints")][-1] == "step_00000003.pt"
    torch.manual_seed(1234)  # a new process starts from another global RNG state
    run_training(spec, tmp_path / "b", phase="supernet", resume=True)
    a = _state(tmp_path / "a" / "checkpoints" / "step_00000006.pt")
    b = _state(tmp_path / "b" / "checkpoints" / "step_00000006.pt")
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_nan_loss_stops_with_step_and_last_checkpoint(synth_root, embed_cache_dir, tmp_path) -> None:
    text = _diverging_config(synth_root, embed_cache_dir)
    spec = _spec(text)
    with pytest.raises(TrainingDiverged, match=r"loss is (nan|inf) at step \d+; last good checkpoint: .*step_"):
        run_training(spec, tmp_path / "run", phase="supernet")
    # Whatever was written before the divergence is still a readable checkpoint.
    for path in list_checkpoints(tmp_path / "run" / "checkpoints"):
        load_checkpoint(path)


def test_checkpoint_from_another_space_names_both_hashes(synth_root, embed_cache_dir, tmp_path) -> None:
    spec = _spec(train_config_text(synth_root, embed_cache_dir, steps=2))
    run_training(spec, tmp_path / "run", phase="supernet")
    other = _spec(train_config_text(synth_root, embed_cache_dir, steps=4, space="search_spaces/tiny_siamcar.yaml"))
    with pytest.raises(CheckpointError, match=r"belongs to space 'tiny' \(hash [0-9a-f]{16}\), but this run's "
                                              r"space has hash [0-9a-f]{16}"):
        run_training(other, tmp_path / "run", phase="supernet", resume=True)


def test_interrupted_checkpoint_write_keeps_the_previous_one(tmp_path, monkeypatch) -> None:
    save_checkpoint(tmp_path, 2, {"model": {"w": torch.ones(2)}})
    calls = {"n": 0}
    real_save = torch.save

    def dying_save(obj, f):
        calls["n"] += 1
        real_save({"partial": True}, f)
        raise KeyboardInterrupt  # the process is killed mid-write

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, 4, {"model": {"w": torch.zeros(2)}})
    monkeypatch.setattr(torch, "save", real_save)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000002.pt"]
    assert torch.equal(load_checkpoint(tmp_path / "step_00000002.pt")["model"]["w"], torch.ones(2))
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_retrain_from_export(synth_root, embed_cache_dir, tmp_path) -> None:
    import random

    spec = _spec(train_config_text(synth_root, embed_cache_dir, steps=2))
    run_training(spec, tmp_path / "super", phase="supernet")
    net, _ = supernet_from_checkpoint(tmp_path / "super" / "checkpoints" / "step_00000002.pt")
    arch = net.space.sample(random.Random(0))
    save_subnet(net.extract(arch), tmp_path / "export")
    re_spec = _spec(train_config_text(synth_root, embed_cache_dir, steps=3).replace("space:", "# space:"),
                    require_space=False)
    summary = run_training(re_spec, tmp_path / "re", phase="retrain", export_dir=str(tmp_path / "export"))
    assert summary["step"] == 3
    retrained = load_subnet(tmp_path / "re" / "export")
    assert retrained.arch == arch and retrained.affine  # affine BN by default when retraining


@pytest.mark.parametrize("edit,message", [
    ("  batch_size: 2\n", "train.batch_size: expected an integer, got 'two'"),
    ("  steps: 6\n", "train.stepz: unknown key 'stepz'"),
    ("format: lasot", "pairs.sources[0].format: unknown format 'lasott'"),
    ("  threads: 1\n", "train.amp: AMP (bf16) needs a CUDA device; device is 'cpu'"),
])
def test_bad_training_configs(synth_root, embed_cache_dir, edit, message) -> None:
    text = train_config_text(synth_root, embed_cache_dir)
    replacement = {"  batch_size: 2\n": "  batch_size: two\n", "  steps: 6\n": "  stepz: 6\n",
                   "format: lasot": "format: lasott", "  threads: 1\n": "  threads: 1\n  amp: bf16\n"}[edit]
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        _spec(text.replace(edit, replacement))


def test_space_without_tracker_is_rejected_before_work(synth_root, embed_cache_dir, tmp_path) -> None:
    spec = _spec(train_config_text(synth_root, embed_cache_dir, space="search_spaces/spos_shufflenet.yaml"))
    with pytest.raises(ConfigError, match="has no tracker section"):
        run_training(spec, tmp_path / "run", phase="supernet")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_supernet_loss_falls_over_a_few_hundred_steps(synth_root, embed_cache_dir, tmp_path) -> None:
    text = train_config_text(synth_root, embed_cache_dir, steps=300).replace("batch_size: 2", "batch_size: 8")
    text = text.replace("checkpoint_every: 2", "checkpoint_every: 100").replace("threads: 1", "threads: 2")
    summary = run_training(_spec(text), tmp_path / "run", phase="supernet")
    first = sum(summary["history"][:30]) / 30
    last = sum(summary["history"][-30:]) / 30
    assert last < 0.85 * first, (first, last)


@pytest.mark.ray
def test_two_ray_train_workers(synth_root, embed_cache_dir, tmp_path) -> None:
    import ray

    spec = _spec(train_config_text(synth_root, embed_cache_dir, steps=4))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_training(spec, tmp_path / "run", phase="supernet", workers=2)
    finally:
        ray.shutdown()
    assert summary["step"] == 4 and math.isfinite(summary["last"]["total"])
    ckpt = load_checkpoint(summary["checkpoint"])
    assert ckpt["step"] == 4
    net, _ = supernet_from_checkpoint(summary["checkpoint"])
    assert net.space.name == "tiny"


@pytest.mark.ray
def test_a_diverging_ray_train_run_stops_at_once_with_the_located_error(synth_root, embed_cache_dir,
                                                                         tmp_path) -> None:
    """A nasvl error in a Train worker is the same on every restart: Ray Train must not restart the group."""
    import json

    import ray

    text = _diverging_config(synth_root, embed_cache_dir)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with pytest.raises(TrainingDiverged, match=r"^loss is (nan|inf) at step \d+; last good checkpoint"):
            run_training(_spec(text), tmp_path / "run", phase="supernet", workers=2)
    finally:
        ray.shutdown()
    starts = [json.loads(line) for line in (tmp_path / "run" / "workers.jsonl").read_text().splitlines()]
    assert sorted(s["rank"] for s in starts) == [0, 1]  # one start per rank: no restart
