"""End-to-end searches on a local Ray runtime (marked `ray`): every strategy, the CLI, export."""

from __future__ import annotations

import json

import pytest

from nasvl.export import load_subnet
from nasvl.search.export import export_records
from nasvl.search.records import load_records
from nasvl.search.run import run_search
from nasvl.space import to_cand
from tests.bounds import HANG_S
from tests.search.ray_utils import nasvl

pytestmark = pytest.mark.ray

STRATEGIES = {
    "random": ("{budget: 4}", 4),
    # generation 0: 3 random; generation 1: 1 mutation + 1 crossover + 1 random = 6 evaluations
    "spos_evolution": ("{population: 3, top_k: 2, mutations: 1, crossovers: 1, generations: 2, "
                       "mutation_prob: 0.3}", 6),
    "optuna": ("{budget: 4, n_startup_trials: 2}", 4),
}


@pytest.fixture(scope="module")
def ray_local():
    """One local runtime for the module: `run_search` starts it on first use and reuses it (saves
    Ray's start-up, ~10 s here, per test); shut down at the end so other modules start clean."""
    import ray

    yield
    ray.shutdown()


def check_run(run_dir, expected: int) -> None:
    records = load_records(run_dir)
    assert len(records.records) == expected
    assert len(records.completed) == expected, [(r.status, r.result) for r in records.records]
    assert all(r.status == "completed" for r in records.records)
    keys = {json.dumps(r.arch, sort_keys=True) for r in records.records}
    assert len(keys) == expected  # dedup: no architecture evaluated twice
    assert sorted(r.nasvl_trial for r in records.records) == [f"{i:06d}" for i in range(expected)]
    assert records.reruns() == 0 and len(records.audit()) == expected


def check_export(run_dir, out) -> None:
    """The best trial exports as a subnet that loads alone; cand.json exists iff CAND can express it."""
    from nasvl.errors import ConfigError

    best = load_records(run_dir).best(1)[0]
    [path] = export_records(run_dir, out)
    subnet = load_subnet(path)
    assert subnet.arch.to_dict() == subnet.space.arch(best.arch).to_dict()
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["extra"]["trial"] == best.nasvl_trial
    assert manifest["extra"]["score"]["suc"] == pytest.approx(best.result.suc)
    try:
        cand = to_cand(subnet.space, subnet.arch)
    except ConfigError:
        cand = None
    assert (path / "cand.json").is_file() == (cand is not None)
    if cand is not None:
        assert json.loads((path / "cand.json").read_text()) == {"CAND": cand}


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_strategy_end_to_end_on_local_ray(search_setup, tmp_path, ray_local, strategy) -> None:
    options, expected = STRATEGIES[strategy]
    spec = search_setup.spec(f"e2e_{strategy}", strategy=strategy, options=options)
    run_dir = tmp_path / "run"
    summary = run_search(spec, search_setup.ckpt, run_dir, live=False)
    assert summary["completed"] == expected and summary["failed"] == 0
    check_run(run_dir, expected)
    # Tune's searcher files are not written: nasvl never reads them, and their write raced Tune's upload.
    assert not [f.name for f in (run_dir / "tune").rglob("*") if "search" in f.name and f.suffix in (".pkl", ".json")]
    if strategy == "optuna":
        import optuna

        db = run_dir / "optuna.db"
        assert db.is_file()
        [study] = optuna.get_all_study_summaries(f"sqlite:///{db}")
        assert study.n_trials >= expected
    check_export(run_dir, tmp_path / "export")


def test_cli_search_report_and_export(search_setup, tmp_path, capsys) -> None:
    from nasvl.cli import main

    config = search_setup.config("cli", strategy="random", options="{budget: 3}")
    run_dir = tmp_path / "run"
    proc = nasvl("search", str(config), "--supernet", str(search_setup.ckpt), "--workers", "2",
                 "--out", str(run_dir))
    assert proc.wait(timeout=HANG_S) == 0
    check_run(run_dir, 3)
    assert json.loads((run_dir / "summary.json").read_text())["completed"] == 3
    # Re-running into the same folder without --resume refuses instead of overwriting.
    assert nasvl("search", str(config), "--supernet", str(search_setup.ckpt), "--out",
                 str(run_dir)).wait(timeout=HANG_S) == 2
    assert main(["search", "report", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "leaderboard" in out and "3 trials: 3 completed, 0 failed" in out
    assert (run_dir / "plots" / "score_vs_trial.png").is_file()
    assert main(["export", str(run_dir), "--out", str(tmp_path / "export")]) == 0
    check_export(run_dir, tmp_path / "export2")
    assert load_subnet(tmp_path / "export").arch.key == load_subnet(tmp_path / "export2").arch.key
