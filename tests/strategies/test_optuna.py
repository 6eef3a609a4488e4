"""The optuna strategy: SQLite storage and reattach, dedup tells, multi-objective Pareto set."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.trial import TrialState

from nasvl.search import build_strategy
from nasvl.testing.strategies import Driver, MatchObjective, toy_space

FAST = {"n_startup_trials": 5}


def test_sqlite_storage_is_created_and_resume_reattaches(tmp_path) -> None:
    space = toy_space()
    obj = MatchObjective(space)
    s = build_strategy("optuna", space, seed=3, run_dir=tmp_path, budget=8, **FAST)
    assert (tmp_path / "optuna.db").is_file() and s.storage_url == f"sqlite:///{tmp_path / 'optuna.db'}"
    d = Driver(s, obj, batch=2)
    for _ in range(4):
        d.step()
    state = json.loads(json.dumps(s.state_dict(), allow_nan=False))
    assert "history" not in state["state"]  # the SQLite study is the record; the state only maps ids
    in_flight = [p.trial_id for p in d.in_flight]
    stray = s.study.ask()  # asked after the checkpoint (driver killed): must not stay RUNNING forever
    s.close()

    again = build_strategy("optuna", space, seed=3, run_dir=tmp_path, budget=8, **FAST)
    again.load_state_dict(state)
    assert again.study.study_name == s.study_name
    assert again.study.trials[stray.number].state == TrialState.FAIL
    for trial_id in in_flight:  # the trials running at the kill report to the restored strategy
        again.tell(trial_id, obj(again.trial(trial_id).arch))
    d2 = Driver(again, obj, batch=2)
    d2.run()
    assert again.done and len(again.trials) == 8
    # optuna-dashboard / a plain Optuna client sees one study with every trial told.
    loaded = optuna.load_study(study_name=s.study_name, storage=s.storage_url)
    assert all(t.state != TrialState.RUNNING for t in loaded.trials)
    assert sum(t.state == TrialState.COMPLETE for t in loaded.trials) >= 8


def test_rdb_url_and_study_name_options(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'cluster.db'}"
    s = build_strategy("optuna", toy_space(), storage=url, study_name="my-search", budget=2)
    assert s.storage_url == url and optuna.get_all_study_names(url) == ["my-search"]


def test_duplicates_get_the_known_value_not_a_new_evaluation() -> None:
    space = toy_space()
    s = build_strategy("optuna", space, storage="memory", budget=60, **FAST)
    d = Driver(s, MatchObjective(space), batch=4).run()
    keys = [k for _, k in d.log]
    assert len(keys) == len(set(keys)) == 60  # no architecture evaluated twice
    # Optuna (converging TPE) re-proposed known architectures; they were told known values.
    assert len(s.study.trials) > 60
    assert all(t.state != TrialState.RUNNING for t in s.study.trials)


@pytest.mark.parametrize("sampler", ["tpe", "nsga2"])
@pytest.mark.parametrize("objective", ["latency_ms", "macs"])
def test_multi_objective_pareto_front_is_non_dominated(sampler, objective) -> None:
    space = toy_space()
    s = build_strategy("optuna", space, storage="memory", budget=30, objectives=["suc", objective],
                       sampler=sampler, population_size=8, **FAST)
    assert [d.name for d in s.study.directions] == ["MAXIMIZE", "MINIMIZE"]
    Driver(s, MatchObjective(space)).run()
    front = s.pareto(("suc", objective))
    assert front
    pts = [(r.suc, getattr(r, objective)) for _, r in front]
    for a in pts:
        for b in pts:
            assert not (b[0] >= a[0] and b[1] <= a[1] and b != a), f"{b} dominates {a}"
    # Every evaluated point is dominated by, or equal to, a front member.
    for t in s.trials:
        p = (t.result.suc, getattr(t.result, objective))
        assert any(f[0] >= p[0] and f[1] <= p[1] for f in pts)


def test_objective_options_are_checked() -> None:
    from nasvl.errors import ConfigError

    with pytest.raises(ConfigError, match="first objective"):
        build_strategy("optuna", toy_space(), storage="memory", objectives=["latency_ms", "suc"])
    with pytest.raises(ConfigError, match="unknown objective"):
        build_strategy("optuna", toy_space(), storage="memory", objectives=["suc", "fps"])


def test_sqlite_resume_continues_like_an_uninterrupted_run(tmp_path) -> None:
    # The conformance suite runs optuna in memory (state replay); this runs its resume check on SQLite.
    from nasvl.testing.strategies import check_resume
    from strategies.optuna_strategy import OptunaStrategy

    class SqliteOptuna(OptunaStrategy):
        conformance_options = {"budget": 8, "n_startup_trials": 4}

    check_resume(SqliteOptuna, tmp_path)
