"""The optional `fidelity:` job step: parsed, ordered after the search, refused without one."""

from __future__ import annotations

import pytest

from nasvl.config import load_yaml_text
from nasvl.errors import ConfigError
from nasvl.jobs import parse_job
from nasvl.jobs.steps import STEP_FUNCTIONS
from tests.jobs.test_jobs import mini_job


def test_fidelity_step_runs_after_the_search(tmp_path) -> None:
    text = mini_job(tmp_path / "d").replace("export: {top: 1}\n", "fidelity: {k: 3, train_steps: 5}\nexport: {top: 1}\n")
    job = parse_job(load_yaml_text(text, "job.yaml"))
    assert (job.fidelity.k, job.fidelity.train_steps, job.fidelity.init) == (3, 5, "scratch")
    assert job.steps.index("fidelity") == job.steps.index("search") + 1 and "fidelity" in STEP_FUNCTIONS
    assert parse_job(load_yaml_text(mini_job(tmp_path / "d"), "job.yaml")).fidelity is None


@pytest.mark.parametrize(("fidelity", "message"), [
    ("{k: 1, train_steps: 5}", "fidelity.k: must be >= 2"),
    ("{k: 3, train_steps: 5, init: warm}", "fidelity.init"),
    ("{k: 3, train_steps: 5, kk: 1}", "unknown key 'kk'"),
], ids=["k-too-small", "bad-init", "unknown-key"])
def test_bad_fidelity_steps_are_located(tmp_path, fidelity: str, message: str) -> None:
    text = mini_job(tmp_path / "d").replace("export: {top: 1}\n", f"fidelity: {fidelity}\nexport: {{top: 1}}\n")
    with pytest.raises(ConfigError, match=message):
        parse_job(load_yaml_text(text, "job.yaml"))


def test_fidelity_without_a_search_is_refused(tmp_path) -> None:
    text = mini_job(tmp_path / "d")
    start, end = text.index("search:\n"), text.index("export:")
    text = text[:start] + "fidelity: {k: 3, train_steps: 5}\n" + text[end:].replace("export: {top: 1}\n", "")
    text = text.replace("retrain:\n  train: {steps: 4, batch_size: 2, threads: 1, checkpoint_every: 2}\n", "")
    text = text[:text.index("evaluate:")]
    with pytest.raises(ConfigError, match="step 'fidelity' needs a 'search' step"):
        parse_job(load_yaml_text(text, "job.yaml"))
