"""`nasvl bench latency` and the runtime benchmark, run small: what they report, never how fast."""

from __future__ import annotations

import json
import math
from pathlib import Path

from nasvl.bench.runtimes import CHANNELS_LAST_ROW, bench_runtimes
from nasvl.deploy.runtimes import RUNTIMES
from tests.adversarial.harness import run_nasvl
from tests.deploy.conftest import SPACES, make_export


def test_bench_latency_reports_raw_and_calibrated_error_per_runtime(tmp_path: Path) -> None:
    out = tmp_path / "lut.json"
    done = run_nasvl(["bench", "latency", SPACES / "tiny.yaml", "--runtimes", "torch", "onnx", "--calibrate", "2",
                      "--archs", "2", "--repeats", "1", "--threads", "1", "--json", out], cwd=tmp_path)
    assert done.code == 0, done.output
    report = json.loads(out.read_text())
    assert [r["runtime"] for r in report["results"]] == ["torch", "onnx"]
    for r in report["results"]:
        fitted = {c["arch"] for c in r["calibration"]}
        tested = [row["arch"] for row in r["raw"]["rows"]]
        assert len(fitted) == 2 and len(tested) == 2 and not fitted & set(tested)
        assert [row["arch"] for row in r["calibrated"]["rows"]] == tested
        # Both errors are of the same measurements: only the prediction differs.
        assert [row["measured_ms"] for row in r["raw"]["rows"]] == [row["measured_ms"] for row in
                                                                    r["calibrated"]["rows"]]
        assert all(math.isfinite(r[k]["mean_abs_error_pct"]) for k in ("raw", "calibrated"))
    assert "calibrated |err|" in done.stdout


def test_runtime_bench_times_every_runtime_and_channels_last(tmp_path: Path) -> None:
    export = make_export("tiny.yaml", "sample", tmp_path / "export")
    report = bench_runtimes(SPACES, frames=3, warmup=1, block=3, model=export)
    assert report["block"] == 3 and report["frames_timed"] == 4  # two turns of 3, the first of each untimed
    rows = {r["runtime"]: r for r in report["results"]}
    assert set(rows) == {*RUNTIMES, CHANNELS_LAST_ROW}
    assert all(r["median_ms"] > 0 and r["x_floor"] > 0 for r in rows.values())
    for ratio in ("inference_vs_plain", "int8_vs_fp32_export", "channels_last_vs_nchw"):
        assert math.isfinite(report[ratio]) and report[ratio] > 0
    assert report["suc"] is None  # no --suc-data given
