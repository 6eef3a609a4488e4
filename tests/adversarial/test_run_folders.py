"""A search run folder from someone else: reading it runs no code, and a broken one is a clear error.

One real search (tiny space, Ray) makes an honest run folder once; every case copies it, plants
something hostile or breaks something, and throws `search report`, `export` or `search --resume`
at the copy through the real CLI.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest

from tests.adversarial.harness import assert_contained, assert_refused, run_nasvl, snapshot
from tests.search.conftest import search_setup  # noqa: F401  (the session's tiny trained supernet)

pytestmark = pytest.mark.ray


class _Payload:
    """Unpickling this creates a PWNED file: the proof that a pickle from the folder was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def honest_run(search_setup, tmp_path_factory):  # noqa: F811
    import ray

    from nasvl.search.run import run_search

    run_dir = tmp_path_factory.mktemp("honest") / "run"
    spec = search_setup.spec("honest", strategy="random", options="{budget: 2}", parallel=1, max_frames=6)
    try:
        run_search(spec, search_setup.ckpt, run_dir, live=False)
    finally:
        ray.shutdown()
    return run_dir, search_setup.config("honest", strategy="random", options="{budget: 2}", parallel=1,
                                        max_frames=6), search_setup.ckpt


def _copy(honest_run, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(honest_run[0], run)
    return run


def _plant_pickles(run: Path, sandbox: Path) -> None:
    """What a crafted folder holds: a payload in every Tune file that Tune would unpickle or decode."""
    marker = sandbox / "PWNED"
    blob = pickle.dumps(_Payload(marker))
    for exp in (run / "tune").iterdir():
        (exp / "tuner.pkl").write_bytes(blob)
        fallback = {"_type": "CLOUDPICKLE_FALLBACK", "value": blob.hex()}
        for state in exp.glob("experiment_state-*.json"):
            data = json.loads(state.read_text())
            data["trial_data"] = [[json.dumps(fallback), json.dumps(fallback)]]
            state.write_text(json.dumps(data))
        (exp / "searcher-state-crafted.pkl").write_bytes(blob)


@pytest.mark.parametrize("command", ["report", "export", "resume"])
def test_crafted_tune_pickles_execute_nothing(honest_run, tmp_path, command) -> None:
    run = _copy(honest_run, tmp_path)
    _plant_pickles(run, tmp_path)
    before = snapshot(tmp_path)
    if command == "report":
        out = run_nasvl(["search", "report", run], cwd=tmp_path)
    elif command == "export":
        out = run_nasvl(["export", run, "--out", run / "exported"], cwd=tmp_path)
    else:
        out = run_nasvl(["search", honest_run[1], "--supernet", honest_run[2], "--out", run, "--resume"],
                        cwd=tmp_path)
    assert out.code == 0, out.output[-3000:]
    assert not (tmp_path / "PWNED").exists(), "a pickle from the run folder was loaded"
    assert "Traceback" not in out.output
    if command == "resume":
        assert "resuming" in out.output
    assert_contained(tmp_path, run, before, run_may_change=command == "resume")


def _edit_state(run: Path, edit) -> None:
    path = run / "search_state.json"
    state = json.loads(path.read_text())
    edit(state)
    path.write_text(json.dumps(state))


def _set(obj: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


BROKEN = {
    # id: (how the folder is broken, fragments the message must hold)
    "state-missing": (lambda r: (r / "search_state.json").unlink(), ["search_state.json", "missing"]),
    "state-not-json": (lambda r: (r / "search_state.json").write_text("{not json"),
                       ["search_state.json", "invalid JSON"]),
    "state-truncated": (lambda r: (r / "search_state.json").write_bytes(
        (r / "search_state.json").read_bytes()[:40]), ["search_state.json", "invalid JSON"]),
    "state-deep-nesting": (lambda r: (r / "search_state.json").write_text("[" * 100_000 + "]" * 100_000),
                           ["search_state.json", "NASVL_LIMIT_YAML_DEPTH"]),
    "state-huge-int": (lambda r: (r / "search_state.json").write_text('{"version": 1' + "0" * 5000 + "}"),
                       ["search_state.json", "digits in one integer"]),
    "state-not-utf8": (lambda r: (r / "search_state.json").write_bytes(b'{"version": "\xff\xfe"}'),
                       ["search_state.json", "not UTF-8"]),
    "state-wrong-version": (lambda r: _edit_state(r, lambda s: _set(s, ("version",), 99)),
                            ["search_state.json", "version 99"]),
    "state-suc-is-text": (lambda r: _edit_state(r, lambda s: _set(s, ("strategy", "trials", 0, "result", "suc"),
                                                                 "high")), ["search_state.json", "'suc'"]),
    "state-no-arch": (lambda r: _edit_state(r, lambda s: _set(s, ("runs", "000000", "arch"), None)),
                      ["search_state.json", "no architecture"]),
    "meta-missing": (lambda r: (r / "search.json").unlink(), ["not a search run folder"]),
    "meta-not-json": (lambda r: (r / "search.json").write_text("\x00\x01"), ["search.json", "invalid JSON"]),
    "meta-no-supernet": (lambda r: (r / "search.json").write_text('{"config": {}}'),
                         ["search.json", "'supernet'"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_run_folder_is_a_clear_error(honest_run, tmp_path, case) -> None:
    run = _copy(honest_run, tmp_path)
    breaker, fragments = BROKEN[case]
    breaker(run)
    before = snapshot(tmp_path)
    out = run_nasvl(["search", "report", run], cwd=tmp_path)
    assert_refused(out, mentions=fragments)
    assert_contained(tmp_path, run, before)


def test_supernet_path_to_a_pickle_is_refused_by_export(honest_run, tmp_path) -> None:
    run = _copy(honest_run, tmp_path)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(_Payload(tmp_path / "PWNED")))
    meta = json.loads((run / "search.json").read_text())
    meta["supernet"] = str(evil)
    (run / "search.json").write_text(json.dumps(meta))
    before = snapshot(tmp_path)
    out = run_nasvl(["export", run, "--out", run / "exported"], cwd=tmp_path)
    assert_refused(out, mentions=["evil.pt"])
    assert_contained(tmp_path, run, before)


def test_resume_of_another_space_is_refused(honest_run, tmp_path) -> None:
    run = _copy(honest_run, tmp_path)
    _edit_state(run, lambda s: _set(s, ("strategy", "space"), "0" * 16))
    before = snapshot(tmp_path)
    out = run_nasvl(["search", honest_run[1], "--supernet", honest_run[2], "--out", run, "--resume"],
                    cwd=tmp_path)
    assert_refused(out, mentions=["search_state.json", "another search space"])
    assert_contained(tmp_path, run, before)


def test_run_folder_that_is_a_file_is_refused(tmp_path) -> None:
    (tmp_path / "run").write_text("not a folder")
    out = run_nasvl(["search", "report", tmp_path / "run"], cwd=tmp_path)
    assert_refused(out, mentions=["run", "not a search run folder"])
