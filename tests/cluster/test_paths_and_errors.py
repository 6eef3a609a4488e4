"""Fast tests: the one path rule, and nasvl errors found inside Ray's wrappers."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasvl.cluster.errors import find_nasvl_error, raise_worker_error
from nasvl.config import load_yaml_text
from nasvl.config.paths import resolve_path
from nasvl.errors import ConfigError, NasvlError
from nasvl.jobs import parse_job
from tests.cluster.conftest import mini_job, write_job


def test_rule_working_directory_then_file_folder_then_working_directory(tmp_path, monkeypatch) -> None:
    cwd, jobs = tmp_path / "cwd", tmp_path / "jobs"
    (cwd / "both").mkdir(parents=True)
    (jobs / "both").mkdir(parents=True)
    (jobs / "beside").mkdir()
    monkeypatch.chdir(cwd)
    source = jobs / "job.yaml"
    assert resolve_path("both", source) == cwd / "both"
    assert resolve_path("beside", source) == jobs / "beside"
    assert resolve_path("new/out", source) == cwd / "new" / "out"
    assert resolve_path("/abs/x", source) == Path("/abs/x")


def test_a_job_leaves_parsing_with_absolute_paths(tmp_path, monkeypatch) -> None:
    job = write_job(tmp_path / "elsewhere", mini_job("abs"))
    monkeypatch.chdir(tmp_path)
    from nasvl.jobs import load_job
    from nasvl.language import default_cache_dir

    spec = load_job(job)
    assert spec.supernet.space == str(tmp_path / "elsewhere" / "spaces" / "tiny.yaml")
    assert Path(spec.run_dir) == tmp_path / "runs" / "abs"
    caches = [spec.supernet.language.cache_dir, spec.search.language.cache_dir]
    paths = [spec.search.val.root, *(c for c in caches if c is not None),
             *(s.root for s in spec.supernet.pairs.sources), *(d.root for d in spec.evaluate.datasets)]
    assert all(Path(p).is_absolute() for p in paths), paths
    # No cache named: every process uses the one default, which depends on no working directory.
    assert all(c is not None or default_cache_dir().is_absolute() for c in caches)


def test_parse_job_without_a_source_still_gives_absolute_paths() -> None:
    spec = parse_job(load_yaml_text(mini_job("nosrc"), "job.yaml"))
    assert Path(spec.run_dir).is_absolute() and Path(spec.supernet.pairs.sources[0].root).is_absolute()


class _WorkerGroupError(RuntimeError):  # the shape of Ray Train's: failures by rank
    def __init__(self, failures: dict[int, BaseException]) -> None:
        super().__init__("Training failed due to worker errors:\nTraceback ...")
        self.worker_failures = failures


class _RayTaskError(RuntimeError):  # the shape of Ray's: the user's exception as `cause`
    def __init__(self, cause: BaseException) -> None:
        super().__init__("ray::worker (pid=1, ip=10.0.0.2)\nTraceback ...")
        self.cause = cause


def test_the_located_error_inside_ray_wrappers_comes_back_as_itself() -> None:
    located = ConfigError("unknown op 'shufle5'", file="tiny.yaml", line=14, path="backbone.ops")
    wrapped = _WorkerGroupError({1: RuntimeError("peer gone"), 0: _RayTaskError(located)})
    assert find_nasvl_error(wrapped) is located
    with pytest.raises(ConfigError, match=r"^tiny.yaml:14: backbone.ops: unknown op 'shufle5'$"):
        raise_worker_error(wrapped, "training")


def test_a_foreign_error_becomes_one_line() -> None:
    with pytest.raises(NasvlError, match=r"^training failed on a Ray worker: ValueError: bad$") as info:
        raise_worker_error(RuntimeError("ray::f() (pid=1, ip=10.0.0.2)\nTraceback...\n  File x\nValueError: bad"),
                           "training")
    assert "\n" not in str(info.value)
