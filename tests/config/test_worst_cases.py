"""The benchmark's worst cases, in-process: each is refused (or accepted) with a located, named error.

benchmarks/bench_validation.py times these same documents; here only the outcome is checked
(no timing assertion: a loaded CI machine must not make this flaky).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from nasvl.config import load_yaml, load_yaml_text
from nasvl.config.yamldoc import load_json_text
from nasvl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_validation", ROOT / "benchmarks" / "bench_validation.py")
bench = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(bench)  # type: ignore[union-attr]


@pytest.mark.parametrize("name", list(bench.CASES))
def test_worst_case_outcome(name: str) -> None:
    text, expect_ok = bench.CASES[name]()
    ok, message = bench.validate(text)
    assert ok == expect_ok, message
    if not ok:
        assert message.startswith("worst.yaml"), message  # located in the file
        assert "Traceback" not in message


@pytest.mark.parametrize("name", list(bench.JOB_CASES))
def test_worst_job_outcome(name: str) -> None:
    text, expect_ok = bench.JOB_CASES[name]()
    ok, message = bench.validate(text, "job")
    assert ok == expect_ok, message
    if not ok:
        assert message.startswith("job.yaml"), message
        assert "Traceback" not in message


def test_benchmark_writes_json(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bench, "CASES", {k: bench.CASES[k] for k in list(bench.CASES)[:2]})
    monkeypatch.setattr(bench, "JOB_CASES", {})
    out = tmp_path / "v.json"
    bench.main(["--out", str(out)])
    data = json.loads(out.read_text())
    assert [c["case"] for c in data["cases"]] == list(bench.CASES)
    assert all(c["accepted"] is False and c["seconds"] >= 0 for c in data["cases"])


@pytest.mark.parametrize(("text", "fragment"), [
    ("a: &a [1, *a]\n", "recursive"),
    ("a: *nope\n", "no anchor"),
    ("a: 0x" + "f" * 40 + "\n", "NASVL_LIMIT_INT_DIGITS"),
    ("a: !!set {x}\n", "not allowed"),
    ("a: !!bool maybe\n", "invalid bool"),
    ("a:\n  <<: {b: 1}\n", "merge keys"),
    ("a: " + "{b: " * 70 + "1" + "}" * 70 + "\n", "NASVL_LIMIT_YAML_DEPTH"),
])
def test_yaml_refusals(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match="^x.yaml:") as info:
        load_yaml_text(text, "x.yaml")
    assert fragment in str(info.value)


def test_core_values_still_load() -> None:
    doc = load_yaml_text("a: 0x1f\nb: [1, 2.5, true, null]\nc: 2024-01-01\nd: '<<'\ne: =\nf: !!str 12\n", "x.yaml")
    assert doc.data["a"] == 31 and doc.data["b"] == [1, 2.5, True, None]
    assert str(doc.data["c"]) == "2024-01-01" and doc.data["d"] == "<<" and doc.data["e"] == "=" and doc.data["f"] == "12"
    assert doc.line(("b", 1)) == 2


def test_limits_can_be_raised(monkeypatch) -> None:
    text = "a: [" + ", ".join(["*x"] * 5) + "]\nx: 1\n"
    text = "x: &x 1\n" + text.replace("\nx: 1\n", "\n")
    monkeypatch.setenv("NASVL_LIMIT_YAML_ALIASES", "4")
    with pytest.raises(ConfigError, match="NASVL_LIMIT_YAML_ALIASES"):
        load_yaml_text(text, "x.yaml")
    monkeypatch.setenv("NASVL_LIMIT_YAML_ALIASES", "5")
    assert load_yaml_text(text, "x.yaml").data["a"] == [1] * 5


def test_file_reading(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_yaml(tmp_path / "d.yaml")
    bad = tmp_path / "b.yaml"
    bad.write_bytes(b"a: 1\nb: 2\nc: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"^b.yaml:3: not UTF-8"):
        load_yaml(bad)
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert load_yaml(bom).data == {"a": 1}


@pytest.mark.parametrize(("text", "fragment"), [
    ("[" * 100 + "]" * 100, "NASVL_LIMIT_YAML_DEPTH"),
    ('["[[[[", ' + "[" * 10 + "]" * 10 + "]", None),  # brackets inside strings do not count
    ("[" + "9" * 30 + "]", "NASVL_LIMIT_INT_DIGITS"),
    ("[NaN]", "not a finite number"),
    ('{"a": 1, "a": 2}', "duplicate key"),
    ("[1,\n 2,,]", "c.json:2: invalid JSON"),
])
def test_json_loader(text: str, fragment: str | None) -> None:
    if fragment is None:
        assert load_json_text(text, "c.json")[0] == "[[[["
        return
    with pytest.raises(ConfigError, match="^c.json") as info:
        load_json_text(text, "c.json")
    assert fragment in str(info.value)
