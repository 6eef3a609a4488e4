"""`bench_trackers` end to end on tiny spaces (the real run times full-size models for minutes)."""

from __future__ import annotations

import random

from nasvl.tracking.bench import BenchModel, bench_trackers
from tests.conftest import SPACES


def test_bench_reports_latency_and_ratios() -> None:
    def sample(s):  # noqa: ANN001, ANN202
        return s.sample(random.Random(0))

    models = [BenchModel("vl", str(SPACES / "tiny.yaml"), sample, "a red ellipse"),
              BenchModel("vision", str(SPACES / "tiny_siamcar.yaml"), sample, None),
              BenchModel("resnet", str(SPACES / "tiny_resnet.yaml"), lambda s: s.arch({}), None)]
    report = bench_trackers(SPACES, frames=3, warmup=1, models=models)
    assert [r["model"] for r in report["results"]] == ["vl", "vision", "resnet"]
    for row in report["results"]:
        assert row["frames_timed"] == 3 and 0 < row["min_ms"] <= row["median_ms"] and row["params"] > 0
    assert report["speedup_vlt_scar_vs_resnet50"] > 0 and report["results"][0]["slowdown_vs_vlt_scar"] == 1
