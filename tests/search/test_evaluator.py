"""Evaluator and search plumbing without a Ray runtime (fast, unmarked)."""

from __future__ import annotations

import json
import math
import pickle
import random

import pytest
import torch

from nasvl.cost import CostModel
from nasvl.data.video import Video
from nasvl.errors import ConfigError
from nasvl.language.encoder import LanguageEncoder
from nasvl.search.config import load_search_spec
from nasvl.search.evaluator import EvalConfig, Evaluator
from nasvl.search.result import TrialResult
from nasvl.search.run import prepare
from nasvl.search.tune import StrategySearcher
from nasvl.space import load_space
from tests.conftest import SPACES


@pytest.fixture(scope="module")
def setup(search_setup, tmp_path_factory):
    """The worker-side `EvalSetup`, built exactly as `run_search` builds it (no Ray involved)."""
    setup, space = prepare(search_setup.spec("plumbing"), search_setup.ckpt, tmp_path_factory.mktemp("run"))
    return setup


@pytest.fixture(scope="module")
def evaluator(setup) -> Evaluator:
    return setup.build()


def test_evaluate_reports_finite_scores_and_cost_model_costs(evaluator) -> None:
    space = evaluator.supernet.space
    arch = space.sample(random.Random(3))
    result = evaluator.evaluate(arch)
    assert result.ok, result.error
    for value in (result.suc, result.prec, result.norm_prec):
        assert math.isfinite(value) and 0.0 <= value <= 1.0
    cost = CostModel.for_space(space).cost(arch)
    assert (result.params, result.macs) == (cost.params, cost.macs)
    assert result.latency_ms is not None and result.latency_ms > 0
    assert result.wall_s is not None and result.wall_s > 0
    # Scoring is deterministic for a given architecture (same recalibration batches, same frames).
    again = evaluator.evaluate(arch)
    assert again.suc == pytest.approx(result.suc, abs=1e-6)


def test_arch_from_another_space_is_a_failed_result(evaluator) -> None:
    other = load_space(SPACES / "tiny_siamcar.yaml")
    assert other.hash != evaluator.supernet.space.hash
    result = evaluator.evaluate(other.sample(random.Random(0)))
    assert isinstance(result, TrialResult) and not result.ok
    assert result.error and math.isnan(result.suc)
    assert result.wall_s is not None and result.wall_s >= 0


def test_broken_recalibration_batch_is_a_failed_result(evaluator) -> None:
    good = evaluator.batches
    try:
        broken = dict(good[0])
        broken["template"] = torch.zeros(2, 3, 5, 5)  # far too small for the stem and stages
        evaluator.batches = [broken]
        result = evaluator.evaluate(evaluator.supernet.space.sample(random.Random(1)))
    finally:
        evaluator.batches = good
    assert not result.ok
    assert "Error" in result.error  # the exception type and message, e.g. "RuntimeError: ..."
    assert len(result.error.splitlines()) >= 1 and "Traceback" not in result.error


class CountingVideo(Video):
    """A Video that counts decodes (class-level, since `first_frames` copies the instance)."""

    reads: dict[str, int] = {}

    def frame(self, i: int):
        CountingVideo.reads[self.name] = CountingVideo.reads.get(self.name, 0) + 1
        return super().frame(i)


def test_frames_are_decoded_once_across_evaluations(setup) -> None:
    import dataclasses

    from nasvl.space import parse_space_dict
    from nasvl.supernet import Supernet

    videos = [CountingVideo(**{f.name: getattr(v, f.name) for f in dataclasses.fields(v)})
              for v in setup.videos]
    CountingVideo.reads = {}
    net = Supernet(parse_space_dict(setup.space_raw))
    net.load_state_dict(setup.weights)
    cfg = dataclasses.replace(setup.config, max_frames=8)
    ev = Evaluator(net, videos, [], setup.embeddings, cfg)
    ev.batches = setup.recal_batches
    expected = {v.name: min(8, len(v)) for v in videos}
    assert CountingVideo.reads == expected  # decoded at construction, only the first M frames
    space = net.space
    for seed in (0, 1):
        assert ev.evaluate(space.sample(random.Random(seed))).ok
    assert CountingVideo.reads == expected  # two candidates later: not one more decode


def test_val_embeddings_are_computed_once(search_setup, tmp_path, monkeypatch) -> None:
    import dataclasses

    calls: list[list[str]] = []
    real = LanguageEncoder.encode

    def counting(self, texts, *args, **kwargs):
        calls.append(list(texts))
        return real(self, texts, *args, **kwargs)

    monkeypatch.setattr(LanguageEncoder, "encode", counting)
    spec = search_setup.spec("fresh_cache")
    # A cold cache: every description must be embedded, and only once.
    spec = dataclasses.replace(spec, language=dataclasses.replace(spec.language, cache_dir=str(tmp_path / "emb")))
    setup, space = prepare(spec, search_setup.ckpt, tmp_path / "run")
    embedded = [t for batch in calls for t in batch]
    assert len(embedded) == len(set(embedded)) > 0
    val_texts = {v.description for v in setup.videos if v.description}
    assert val_texts and val_texts <= set(setup.embeddings) and val_texts <= set(embedded)
    ev = setup.build()
    before = len(calls)
    for seed in (0, 1):
        assert ev.evaluate(space.sample(random.Random(seed))).ok
    assert len(calls) == before  # evaluations look embeddings up; they never run the encoder


# ---- StrategySearcher (the Tune adapter) without a cluster ---------------------------------------
def _metrics(suc: float) -> dict:
    return {"suc": suc, "prec": suc, "norm_prec": suc, "params": 10, "macs": 20, "latency_ms": 1.0,
            "wall_s": 0.5, "training_iteration": 1}


@pytest.fixture(scope="module")
def tiny_raw():
    return load_space(SPACES / "tiny.yaml").raw


def test_searcher_suggest_complete_and_finish(tiny_raw) -> None:
    from ray.tune.search import Searcher

    s = StrategySearcher("random", tiny_raw, 0, {"budget": 3})
    configs = [s.suggest(f"t{i}") for i in range(3)]
    assert all(isinstance(c, dict) and set(c) == {"arch", "nasvl_trial", "rung"} for c in configs)
    assert len({json.dumps(c["arch"], sort_keys=True) for c in configs}) == 3
    assert s.suggest("t3") is None  # budget spent, results pending: "wait", not "finished"
    s.on_trial_complete("t1", _metrics(0.4))
    s.on_trial_complete("t0", None, error=True)  # a trial Ray gave up on
    s.on_trial_complete("unknown-tune-id", _metrics(0.9))  # not ours: ignored
    assert s.suggest("t4") is None
    s.on_trial_complete("t2", _metrics(0.6))
    assert s.suggest("t5") == Searcher.FINISHED
    trials = {t.trial_id: t for t in s.strategy.trials}
    assert trials[configs[0]["nasvl_trial"]].result.error  # recorded as failed, with a reason
    assert s.strategy.best(1)[0][1].suc == 0.6


def test_searcher_retries_a_failed_worker_as_a_new_tune_trial(tiny_raw, tmp_path) -> None:
    s = StrategySearcher("random", tiny_raw, 0, {"budget": 2}, run_dir=str(tmp_path), max_failures=1)
    first, second = s.suggest("t0"), s.suggest("t1")
    s.on_trial_complete("t0", None, error=True)  # the worker died: re-queued, not told
    assert s.strategy.pending == [first["nasvl_trial"], second["nasvl_trial"]]
    assert s.suggest("t2") == first  # the same candidate again, under a new Tune trial
    s.on_trial_complete("t2", None, error=True)  # second death: max_failures=1 is spent
    s.on_trial_complete("t1", _metrics(0.5))
    trials = {t.trial_id: t for t in s.strategy.trials}
    assert "failed 2 times" in trials[first["nasvl_trial"]].result.error
    assert s.runs[first["nasvl_trial"]]["retries"] == 1
    assert s.runs[first["nasvl_trial"]]["tune_ids"] == ["t0", "t2"]
    # Every event is on disk, as JSON, at once.
    assert json.loads((tmp_path / "search_state.json").read_text()) == json.loads(json.dumps(s.state()))


def test_evolution_searcher_waits_for_its_generation(tiny_raw) -> None:
    opts = {"population": 2, "top_k": 1, "mutations": 1, "crossovers": 0, "generations": 2}
    s = StrategySearcher("spos_evolution", tiny_raw, 0, opts)
    a, b = s.suggest("a"), s.suggest("b")
    assert a and b and s.suggest("c") is None  # generation 0 is out: wait
    s.on_trial_complete("a", _metrics(0.2))
    assert s.suggest("c") is None
    s.on_trial_complete("b", _metrics(0.3))
    assert isinstance(s.suggest("c"), dict)  # generation 1 bred once all of generation 0 was told


def _comparable(state: dict) -> dict:
    """The state minus Optuna's bookkeeping attrs: replaying an in-memory study re-enqueues running
    trials, which tags them with `fixed_params`; what the sampler sees is otherwise identical."""
    state = json.loads(json.dumps(state))
    for rec in state["state"].get("history", []):
        rec["system_attrs"].pop("fixed_params", None)
    return state


@pytest.mark.parametrize("name,options", [("random", {"budget": 5}), ("spos_evolution",
                         {"population": 3, "top_k": 2, "mutations": 1, "crossovers": 1, "generations": 2}),
                         ("optuna", {"budget": 5, "n_startup_trials": 2, "storage": "memory"})])
def test_searcher_save_restore_and_pickle_round_trip(tiny_raw, tmp_path, name, options) -> None:
    s = StrategySearcher(name, tiny_raw, 7, options)
    got = [s.suggest(f"t{i}") for i in range(3)]
    s.on_trial_complete("t0", _metrics(0.5))
    s.on_trial_complete("t2", {"suc": float("nan")})  # NaN result, out of order
    # Pickling carries only plain data: the state Tune pickles is JSON-serialisable as is.
    json.dumps(s.__getstate__(), allow_nan=False)
    clone = pickle.loads(pickle.dumps(s))
    assert _comparable(clone.strategy.state_dict()) == _comparable(s.strategy.state_dict())
    restored = StrategySearcher(name, tiny_raw, 7, options)
    restored.resume(json.loads(json.dumps(s.state())))
    assert _comparable(restored.strategy.state_dict()) == _comparable(s.strategy.state_dict())
    # All three continue identically from here; the trial in flight keeps its architecture.
    s.on_trial_complete("t1", _metrics(0.1))
    for other in (clone, restored):
        assert other.suggest("t1") == got[1]
        other.on_trial_complete("t1", _metrics(0.1))
    nxt = [x.suggest("t3") for x in (s, clone, restored)]
    assert nxt[0] == nxt[1] == nxt[2]


def test_searcher_pickle_reattaches_optuna_sqlite_study(tiny_raw, tmp_path) -> None:
    s = StrategySearcher("optuna", tiny_raw, 0, {"budget": 4, "n_startup_trials": 2}, run_dir=str(tmp_path))
    s.suggest("t0")
    s.on_trial_complete("t0", _metrics(0.3))
    clone = pickle.loads(pickle.dumps(s))
    assert (tmp_path / "optuna.db").is_file()
    assert clone.strategy.study.study_name == s.strategy.study.study_name
    assert len(clone.strategy.study.trials) == len(s.strategy.study.trials) == 1


# ---- located config errors --------------------------------------------------------------------
@pytest.mark.parametrize("edit,token,message", [
    (("strategy: random", "strategy: randm"), "randm",
     r"search\.strategy: unknown strategy 'randm' \(known: .*random"),
    (("trials_in_parallel: 2", "trials_in_parallel: 2\n  objectives: [suc, flops]"), "flops",
     r"search\.objectives\[1\]: unknown objective 'flops' \(known: .*latency_ms"),
    (("format: lasot}\npairs", "format: lasott}\npairs"), "lasott",
     r"val\.format: unknown format 'lasott' \(known: .*lasot"),
    (("trials_in_parallel: 2", "trials_in_parallel: 0"), "trials_in_parallel", r"search\.trials_in_parallel: must be >= 1"),
    (("latency_repeats: 2,", "latency_runtime: tensorrt, latency_repeats: 2,"), "tensorrt",
     r"search\.eval\.latency_runtime: .*'tensorrt'.*onnx-int8"),
    (("trials_in_parallel: 2", "trials_in_parallel: 2\n  workers: 3"), "workers",
     r"search\.workers: unknown key 'workers' \(allowed: .*trials_in_parallel"),
])
def test_search_config_errors_are_located(search_setup, tmp_path, edit, token, message) -> None:
    text = search_setup.config_text()
    assert edit[0] in text
    bad = text.replace(edit[0], edit[1], 1)
    line = next(i for i, row in enumerate(bad.splitlines(), start=1) if token in row)
    path = tmp_path / "bad_search.yaml"
    path.write_text(bad)
    with pytest.raises(ConfigError, match=message) as info:
        load_search_spec(path)
    # Located: file and line of the offending value, then the YAML path and the rule.
    assert str(info.value).startswith(f"bad_search.yaml:{line}: ")


def test_eval_config_defaults_are_sane() -> None:
    cfg = EvalConfig()
    assert cfg.recalibration_batches > 0 and cfg.latency_repeats > 0 and cfg.device == "cpu"
