"""Malformed and hostile jobs through the real `nasvl run`: refused up front, located, contained.

Each case edits one thing in a small valid job, the way users of tracking toolkits and NAS
frameworks get jobs wrong (a name copied from a path, a dataset listed twice, `lr: .nan`, a worker
count meant for a cluster, options of another strategy), or the way a hostile job file would
(`name: ../../x`, a right-to-left override). `--dry-run` must refuse it with a message naming the
file, the line and YAML path and the rule; for the cases that used to do damage, a plain `nasvl run`
must refuse it before any step starts, writing nothing outside the run folder and marking nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.adversarial.harness import ROOT, assert_contained, assert_refused, run_nasvl, snapshot

SPACE = ROOT / "search_spaces" / "tiny.yaml"
BASE = f"""\
name: mini
language: {{model: minilm}}
data:
  synth: {{videos: 6, seed: 0, min_frames: 20, max_frames: 24}}
supernet:
  space: {SPACE}
  pairs:
    sources: [{{root: "${{data}}/train", format: lasot, lang_mode: template}}]
    pairs_per_epoch: 200
  train: {{steps: 40, batch_size: 2, threads: 1, checkpoint_every: 10, optimizer: {{lr: 0.01}}}}
search:
  val: {{root: "${{data}}/val", format: lasot}}
  search:
    strategy: random
    options: {{budget: 3}}
    eval: {{max_frames: 10, recalibration_batches: 1, recalibration_batch_size: 2, latency_repeats: 1}}
export: {{top: 1}}
retrain:
  train: {{steps: 4, batch_size: 2, threads: 1, checkpoint_every: 2}}
evaluate:
  datasets: [{{name: test, root: "${{data}}/test", format: lasot, benchmark: synth}}]
compute: {{train_workers: 1}}
"""
EVAL = '  datasets: [{name: test, root: "${data}/test", format: lasot, benchmark: synth}]'


def _ds(*names: str) -> str:
    return "  datasets: [" + ", ".join(f'{{name: {n}, root: "${{data}}/test", format: lasot}}' for n in names) + "]"


# id: (old text, new text, fragments the message must hold, extra CLI args)
CASES: dict[str, tuple[str, str, list[str], list[str]]] = {
    "name-dotdot": ("name: mini", "name: ../../x", ["name:", "'../../x'", "plain name"], []),
    "name-absolute": ("name: mini", "name: /tmp/abs/path", ["name:", "/tmp/abs/path", "plain name"], []),
    "name-slash": ("name: mini", "name: a/b", ["name:", "'a/b'", "plain name"], []),
    "name-dot": ("name: mini", "name: '.'", ["name:", "plain name"], []),
    "name-empty": ("name: mini", "name: ''", ["name:", "plain name"], []),
    "name-rtl-override": ("name: mini", 'name: "job\\u202Egpj.exe"', ["name:", "\\u202e", "plain name"], []),
    "name-nul": ("name: mini", 'name: "a\\0b"', ["name:", "\\x00", "plain name"], []),
    "name-not-a-string": ("name: mini", "name: [a, b]", ["name:", "expected a string"], []),
    "dataset-name-dotdot": (EVAL, _ds("../../../x"), ["evaluate.datasets[0].name", "plain name"], []),
    "dataset-name-rtl": (EVAL, _ds('"a\\u202Eb"'), ["evaluate.datasets[0].name", "\\u202e"], []),
    "dataset-names-duplicate": (EVAL, _ds("test", "test"), ["evaluate.datasets[1].name", "used twice"], []),
    "datasets-empty": (EVAL, "  datasets: []", ["evaluate.datasets", "no datasets"], []),
    "space-missing": (f"space: {SPACE}", "space: nowhere/space.yaml", ["supernet.space", "not found"], []),
    "strategy-unknown": ("strategy: random", "strategy: randum", ["search.search.strategy", "unknown strategy"], []),
    "strategy-option-unknown": ("options: {budget: 3}", "options: {budjet: 3}",
                                ["search.search.options", "budjet"], []),
    "strategy-option-invalid": ("options: {budget: 3}", "options: {budget: 0}",
                                ["search.search.options", "budget"], []),
    "strategy-option-type": ("options: {budget: 3}", "options: {budget: three}",
                             ["search.search.options", "budget", "integer"], []),
    "strategy-options-of-another": ("options: {budget: 3}", "options: {population: 8, generations: 2}",
                                    ["search.search.options", "population"], []),
    "strategy-options-for-the-command-line": (
        "options: {budget: 3}", "options: {budget: 3}\n    strategy_options: {spos_evolution: {population: 0}}",
        ["search.search.strategy_options.spos_evolution", "population"], []),
    "search-budget-huge": ("options: {budget: 3}", "options: {budget: 1000000000}",
                           ["search.search.options", "budget", "NASVL_LIMIT_SEARCH_BUDGET"], []),
    "lr-nan": ("optimizer: {lr: 0.01}", "optimizer: {lr: .nan}", ["supernet.train.optimizer.lr", "finite"], []),
    "lr-negative": ("optimizer: {lr: 0.01}", "optimizer: {lr: -0.1}", ["optimizer.lr", "must be > 0"], []),
    "momentum-out-of-range": ("optimizer: {lr: 0.01}", "optimizer: {lr: 0.01, momentum: 1.5}",
                              ["optimizer.momentum", "[0, 1)"], []),
    "schedule-gamma-zero": ("optimizer: {lr: 0.01}", "optimizer: {lr: 0.01}, schedule: {gamma: 0}",
                            ["schedule.gamma", "must be > 0"], []),
    "min-frames-over-max": ("min_frames: 20, max_frames: 24", "min_frames: 30, max_frames: 24",
                            ["data.synth.min_frames", "greater than max_frames"], []),
    "min-frames-over-default-max": ("min_frames: 20, max_frames: 24", "min_frames: 500",
                                    ["data.synth.min_frames", "greater than max_frames"], []),
    "synth-videos-too-few": ("videos: 6", "videos: 2", ["data.synth.videos", "must be >= 3"], []),
    "synth-videos-huge": ("videos: 6", "videos: 100000000", ["data.synth.videos", "NASVL_LIMIT_SYNTH_VIDEOS"], []),
    "workers-huge": ("train_workers: 1", "train_workers: 100000",
                     ["compute.train_workers", "NASVL_LIMIT_TRAIN_WORKERS"], []),
    "workers-negative": ("train_workers: 1", "train_workers: -5", ["compute.train_workers", "must be >= 1"], []),
    "workers-flag-negative": ("", "", ["--workers", "must be >= 1"], ["--workers", "-5"]),
    "workers-flag-zero": ("", "", ["--workers", "must be >= 1"], ["--workers", "0"]),
    "workers-flag-huge": ("", "", ["--workers", "NASVL_LIMIT_TRAIN_WORKERS"], ["--workers", "100000"]),
    "steps-huge": ("steps: 40,", "steps: 1000000000000,", ["supernet.train.steps", "NASVL_LIMIT_TRAIN_STEPS"], []),
    "steps-zero": ("steps: 40,", "steps: 0,", ["supernet.train.steps", "must be >= 1"], []),
    "steps-wrong-type": ("steps: 40,", "steps: forty,", ["supernet.train.steps", "expected an integer"], []),
    "batch-huge": ("batch_size: 2, threads: 1, checkpoint_every: 10", "batch_size: 10000000, threads: 1",
                   ["supernet.train.batch_size", "NASVL_LIMIT_BATCH_SIZE"], []),
    "loader-workers-negative": ("threads: 1, checkpoint_every: 10", "threads: 1, num_workers: -1",
                                ["supernet.train.num_workers", "must be >= 0"], []),
    "pairs-per-epoch-huge": ("pairs_per_epoch: 200", "pairs_per_epoch: 10000000000",
                             ["supernet.pairs.pairs_per_epoch", "NASVL_LIMIT_PAIRS_PER_EPOCH"], []),
    "template-size-mismatch": ("pairs_per_epoch: 200", "pairs_per_epoch: 200\n    template_size: 100",
                               ["supernet.pairs", "template_size is 100"], []),
    "trials-in-parallel-huge": ("strategy: random", "strategy: random\n    trials_in_parallel: 1000000",
                                ["search.search.trials_in_parallel", "NASVL_LIMIT_TRIALS_IN_PARALLEL"], []),
    "retry-forever": ("strategy: random", "strategy: random\n    max_failures: -1",
                      ["search.search.max_failures", "must be >= 0"], []),
    "no-cpu-no-gpu-per-trial": ("strategy: random", "strategy: random\n    cpus_per_trial: 0",
                                ["search.search.cpus_per_trial", "some CPU or GPU"], []),
    "recalibration-huge": ("recalibration_batches: 1", "recalibration_batches: 100000000",
                           ["search.search.eval.recalibration_batches", "NASVL_LIMIT_RECALIBRATION_BATCHES"], []),
    "eval-frames-zero": ("max_frames: 10,", "max_frames: 0,", ["search.search.eval.max_frames", "must be >= 1"], []),
    "export-top-zero": ("export: {top: 1}", "export: {top: 0}", ["export.top", "must be >= 1"], []),
    "device-bogus": ("threads: 1, checkpoint_every: 2", "threads: 1, device: gpu0",
                     ["retrain.train.device", "not a torch device"], []),
    "unknown-key": ("compute: {train_workers: 1}", "compute: {train_workers: 1}\ntrian: {}",
                    ["trian", "unknown key"], []),
    "unknown-variable": ('root: "${data}/val"', 'root: "${date}/val"', ["search.val", "unknown variable"], []),
    "synth-out-outside-runs": ("max_frames: 24}", "max_frames: 24, out: /tmp/nasvl-elsewhere/synth}",
                               ["data.synth.out", "outside the runs folder"], []),
    "optuna-sqlite-outside-runs": ("strategy: random\n    options: {budget: 3}",
                                   "strategy: optuna\n    options: {budget: 3, storage: 'sqlite:////tmp/x.db'}",
                                   ["search.search.options.storage", "outside the runs folder"], []),
}

# Cases that once ran (part of) a job, wrote outside the run folder, or left a step marked: the plain
# run must refuse them as early as the dry run.
PLAIN_RUN = {"name-dotdot", "name-absolute", "synth-out-outside-runs", "dataset-name-dotdot", "strategy-option-invalid", "workers-huge",
             "space-missing", "lr-nan"}
LOCATED = re.compile(r"job\.yaml:\d+: ")


def _write(tmp_path: Path, old: str, new: str) -> Path:
    assert old in BASE, old
    job = tmp_path / "job.yaml"
    job.write_text(BASE.replace(old, new, 1), encoding="utf-8")
    return job


def test_the_base_job_is_valid(tmp_path: Path) -> None:
    job = _write(tmp_path, "", "")
    out = run_nasvl(["run", job, "--dry-run", "--runs", tmp_path / "runs"], cwd=tmp_path)
    assert out.code == 0 and "valid" in out.stdout, out.output[-2000:]


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_job_is_refused(tmp_path: Path, case: str) -> None:
    old, new, mentions, extra = CASES[case]
    job = _write(tmp_path, old, new)
    runs = tmp_path / "runs"
    before = snapshot(tmp_path)
    modes = [["--dry-run"], []] if case in PLAIN_RUN else [["--dry-run"]]
    for mode in modes:
        out = run_nasvl(["run", job, "--runs", runs, *mode, *extra], cwd=tmp_path)
        assert_refused(out, mentions=mentions, code=2)
        if not extra:  # YAML cases: file, line and path; CLI-flag cases name the flag instead
            assert LOCATED.search(out.stderr), out.stderr
        assert "\u202e" not in out.output and "\x00" not in out.output  # shown escaped, never raw
        assert_contained(tmp_path, runs, before)
        assert not list(runs.rglob("DONE.json")) if runs.exists() else True
        # Refused before any step: no step folder exists to be called "interrupted" on the next run.
        assert not [p for p in runs.rglob("*") if p.is_dir()] if runs.exists() else True


def test_runs_pointing_at_a_file_is_refused(tmp_path: Path) -> None:
    job = _write(tmp_path, "", "")
    (tmp_path / "runs").write_text("not a folder\n")
    before = snapshot(tmp_path)
    for mode in (["--dry-run"], []):
        out = run_nasvl(["run", job, "--runs", tmp_path / "runs", *mode], cwd=tmp_path)
        assert_refused(out, mentions=["--runs", "is a file"], code=2)
    assert_contained(tmp_path, tmp_path / "runs", before)


ABLATION = f"""\
name: abl
data:
  synth: {{videos: 6, seed: 0, min_frames: 20, max_frames: 24}}
ablation:
  evaluate: {{name: test, root: "${{data}}/test", format: lasot, benchmark: synth}}
  base:
    supernet:
      space: {SPACE}
      pairs: {{sources: [{{root: "${{data}}/train", format: lasot}}], pairs_per_epoch: 200}}
      train: {{steps: 4, batch_size: 2}}
    search:
      val: {{root: "${{data}}/val", format: lasot}}
      search: {{strategy: random, options: {{budget: 2}}}}
    export: {{top: 1}}
    retrain: {{train: {{steps: 2, batch_size: 2}}}}
  variants:
    - {{name: first}}
"""


@pytest.mark.parametrize("variants,mentions", [
    ('    - {name: ".."}\n', ["ablation.variants[1].name", "variant folder", "plain name"]),
    ('    - {name: "first!"}\n', ["ablation.variants[1].name", "share the folder 'first'"]),
    ("    - {name: second}\n", None),  # the control: a valid ablation
], ids=["variant-dotdot", "variant-same-folder", "valid-control"])
def test_hostile_ablation_variants(tmp_path: Path, variants: str, mentions: list[str] | None) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(ABLATION + variants, encoding="utf-8")
    before = snapshot(tmp_path)
    out = run_nasvl(["run", job, "--dry-run", "--runs", tmp_path / "runs"], cwd=tmp_path)
    if mentions is None:
        assert out.code == 0, out.output[-2000:]
        return
    assert_refused(out, mentions=mentions, code=2)
    assert LOCATED.search(out.stderr), out.stderr
    assert_contained(tmp_path, tmp_path / "runs", before)
