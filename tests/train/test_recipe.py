"""Supernet training recipe: sandwich paths, in-place distillation, shared warm-up, their config."""

from __future__ import annotations

import random

import pytest
import torch

from nasvl.config import load_yaml_text
from nasvl.cost import CostModel
from nasvl.errors import ConfigError, NasvlError
from nasvl.space import load_space
from nasvl.supernet import Supernet
from nasvl.train import load_checkpoint, parse_train_spec, run_training
from nasvl.train.distill import distill_loss
from nasvl.train.loop import path_parameters
from nasvl.train.recipe import SHARED_GROUPS, parameter_groups
from nasvl.train.run import seed_everything
from nasvl.train.sampling import ArchSampler, SandwichConfig, extreme_paths
from tests.conftest import ROOT, train_config_text


@pytest.fixture(scope="module")
def space():
    return load_space(ROOT / "search_spaces/tiny.yaml")


def _spec(text: str):
    return parse_train_spec(load_yaml_text(text, "train.yaml").root)


# ---- sandwich ----------------------------------------------------------------------------------
def test_sandwich_extremes_are_the_largest_and_smallest_by_macs(space) -> None:
    cost = CostModel.for_space(space)
    big, small = extreme_paths(space)
    # Exact, not only better than a sample: no single block change makes the largest larger or
    # the smallest smaller (MACs are a sum over blocks, so this is the global optimum).
    for block in space.free_blocks:
        for op in block.options:
            moved = {b.path: big[b.path] for b in space.free_blocks} | {block.path: op}
            assert cost.macs(space.arch(moved)) <= cost.macs(big)
            moved = {b.path: small[b.path] for b in space.free_blocks} | {block.path: op}
            assert cost.macs(space.arch(moved)) >= cost.macs(small)
    drawn = [cost.macs(space.sample(random.Random(i))) for i in range(200)]
    assert cost.macs(small) <= min(drawn) and max(drawn) <= cost.macs(big)


@pytest.mark.parametrize("mode", ["uniform", "constrained"])
def test_sandwich_paths_depend_only_on_seed_and_step(space, mode) -> None:
    big, small = extreme_paths(space)
    # Two ranks: separate samplers, nothing shared, the same (seed, step) -> the same paths.
    rank0 = ArchSampler(space, seed=7, mode=mode, sandwich=SandwichConfig(random=3))
    rank1 = ArchSampler(space, seed=7, mode=mode, sandwich=SandwichConfig(random=3))
    for step in (0, 1, 5, 12345):
        paths = rank0.paths(step)
        assert paths == rank1.paths(step)
        assert len(paths) == 5 and paths[0] == big and paths[1] == small
    randoms = {tuple(rank0.paths(step)[2:]) for step in range(6)}
    assert len(randoms) == 6  # the random paths change with the step
    other_seed = ArchSampler(space, seed=8, mode=mode, sandwich=SandwichConfig(random=3))
    assert other_seed.paths(0)[2:] != rank0.paths(0)[2:]
    # Without the sandwich rule a step trains exactly the one path it always did.
    plain = ArchSampler(space, seed=7, mode=mode)
    assert plain.paths(4) == [plain.sample(4)]


def test_sandwich_gradients_are_reduced_over_the_union_of_paths(space) -> None:
    net = Supernet(space)
    paths = ArchSampler(space, seed=0, sandwich=SandwichConfig(random=1)).paths(0)
    union = path_parameters(net, paths)
    assert len({id(p) for p in union}) == len(union)
    for arch in paths:
        assert {id(p) for p in path_parameters(net, [arch])} <= {id(p) for p in union}


# ---- in-place distillation ---------------------------------------------------------------------
def _scar_outputs(space, seed: int):
    net = Supernet(space).train()
    arch = space.sample(random.Random(seed))
    return net, net.track_forward(torch.randn(2, 3, 63, 63), torch.randn(2, 3, 127, 127), arch)


def test_distillation_is_zero_on_the_teacher_itself(space) -> None:
    torch.manual_seed(0)
    _, out = _scar_outputs(space, 0)
    assert set(out) == {"cls", "cen", "ltrb"}
    assert float(distill_loss(out, {k: v.detach().clone() for k, v in out.items()}).detach()) == pytest.approx(0, abs=1e-6)
    tt = {"cls": torch.randn(2, 9, 2), "box": torch.rand(2, 9, 4)}  # TransT's outputs
    assert float(distill_loss(tt, {k: v.clone() for k, v in tt.items()})) == pytest.approx(0, abs=1e-6)


def test_distillation_pulls_the_student_towards_the_teacher(space) -> None:
    torch.manual_seed(0)
    net, student = _scar_outputs(space, 0)
    teacher = net.track_forward(torch.randn(2, 3, 63, 63), torch.randn(2, 3, 127, 127),
                                space.sample(random.Random(1)))
    loss = distill_loss(student, teacher)
    assert float(loss.detach()) > 0
    loss.backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and any(bool(g.abs().sum() > 0) for g in grads)
    tt_student = {"cls": torch.randn(2, 9, 2, requires_grad=True), "box": torch.rand(2, 9, 4, requires_grad=True)}
    tt_teacher = {"cls": torch.randn(2, 9, 2), "box": torch.rand(2, 9, 4)}
    loss = distill_loss(tt_student, tt_teacher)
    loss.backward()
    assert float(loss.detach()) > 0 and tt_student["cls"].grad.abs().sum() > 0 and tt_student["box"].grad.abs().sum() > 0


def test_distillation_refuses_an_output_it_does_not_know() -> None:
    with pytest.raises(NasvlError, match=r"head output 'heatmap'.*distill_outputs"):
        distill_loss({"heatmap": torch.zeros(1, 1, 2, 2)}, {"heatmap": torch.zeros(1, 1, 2, 2)})


# ---- shared warm-up ----------------------------------------------------------------------------
def test_parameter_groups_cover_every_parameter_once(space) -> None:
    net = Supernet(space)
    groups = parameter_groups(net)
    ids = [id(p) for ps in groups.values() for p in ps]
    assert len(ids) == len(set(ids)) == len(list(net.parameters()))
    assert groups["choices"] and groups["head"] and groups["language"] and groups["stem"]
    # The mixers' searched post ops are choices, not language.
    post = {id(p) for p in net.mixers["template"]["stage3"].post.parameters()}
    assert post <= {id(p) for p in groups["choices"]}


def _names(net, group: str) -> set[str]:
    ids = {id(p) for p in parameter_groups(net)[group]}
    return {n for n, p in net.named_parameters() if id(p) in ids}


@pytest.mark.parametrize("groups,moving", [(None, set(SHARED_GROUPS)), ("[head]", {"head"})])
def test_shared_warmup_trains_only_its_groups_then_everything(synth_root, embed_cache_dir, tmp_path,
                                                             space, groups, moving) -> None:
    warm = "{steps: 2}" if groups is None else f"{{steps: 2, groups: {groups}}}"
    text = train_config_text(synth_root, embed_cache_dir, steps=4, extra=f"  shared_warmup: {warm}\n")
    run_training(_spec(text), tmp_path / "run", phase="supernet")
    seed_everything(0)  # the run's initial weights (seed 0)
    net = Supernet(space)
    init = net.state_dict()
    after_warmup = load_checkpoint(tmp_path / "run" / "checkpoints" / "step_00000002.pt")["model"]
    after = load_checkpoint(tmp_path / "run" / "checkpoints" / "step_00000004.pt")["model"]

    def changed(state, group: str) -> bool:
        return any(not torch.equal(state[n], init[n]) for n in _names(net, group))

    for group in (*SHARED_GROUPS, "choices"):
        if _names(net, group):
            assert changed(after_warmup, group) == (group in moving), group
    assert changed(after, "choices")  # the warm-up is over: the searched ops train too


# ---- exact resume and config -------------------------------------------------------------------
def test_resume_is_exact_with_every_option(synth_root, embed_cache_dir, tmp_path) -> None:
    extra = ("  deterministic: true\n  sandwich: {random: 1}\n  distill: {weight: 0.5}\n"
             "  shared_warmup: {steps: 2}\n")
    spec = _spec(train_config_text(synth_root, embed_cache_dir, steps=4, extra=extra))
    summary = run_training(spec, tmp_path / "a", phase="supernet")
    assert summary["last"]["distill"] > 0
    run_training(spec, tmp_path / "b", phase="supernet", stop_at=3)
    torch.manual_seed(1234)
    run_training(spec, tmp_path / "b", phase="supernet", resume=True)
    a = load_checkpoint(tmp_path / "a" / "checkpoints" / "step_00000004.pt")["model"]
    b = load_checkpoint(tmp_path / "b" / "checkpoints" / "step_00000004.pt")["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("extra,message", [
    ("  sandwich: {random: -1}\n", "train.sandwich.random: must be >= 0, got -1"),
    ("  sandwich: {random: 100000}\n", "100000 exceeds the limit of 64 random paths per sandwich-rule training "
                                       "step (raise it with NASVL_LIMIT_SANDWICH_PATHS=N)"),
    ("  sandwich: {randm: 2}\n", "train.sandwich.randm: unknown key"),
    ("  distill: {weight: 1.0}\n", "train.distill: in-place distillation needs the sandwich rule"),
    ("  sandwich: {random: 1}\n  distill: {weight: 0}\n", "train.distill.weight: must be > 0, got 0"),
    ("  sandwich: {random: 1}\n  distill: {weight: .nan}\n", "train.distill.weight"),
    ("  shared_warmup: {steps: 0}\n", "train.shared_warmup.steps: must be >= 1, got 0"),
    ("  shared_warmup: {groups: [head]}\n", "train.shared_warmup: missing required key 'steps'"),
    ("  shared_warmup: {steps: 5, groups: [choices]}\n", "train.shared_warmup.groups[0]: 'choices' is not one of"),
    ("  shared_warmup: {steps: 5, groups: []}\n", "train.shared_warmup.groups: must name at least one of"),
    ("  shared_warmup: {steps: 5, groups: [head, head]}\n", "train.shared_warmup.groups: lists a group twice"),
], ids=["negative-random", "over-limit", "typo", "distill-alone", "zero-weight", "nan-weight", "zero-steps",
        "no-steps", "choices-group", "no-groups", "twice"])
def test_bad_recipe_options_name_the_yaml_path(synth_root, embed_cache_dir, extra, message) -> None:
    with pytest.raises(ConfigError) as info:
        _spec(train_config_text(synth_root, embed_cache_dir, extra=extra))
    assert message in str(info.value) and "train.yaml" in str(info.value)
