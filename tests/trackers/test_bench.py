"""`bench_trackers` end to end on tiny spaces (the real run times full-size models for minutes)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from nasvl.bench.trackers import BenchModel, bench_trackers, matmul_gflops, paper_cand
from nasvl.errors import ConfigError
from tests.conftest import SPACES


def test_bench_reports_latency_floor_and_ratios() -> None:
    def sample(s):  # noqa: ANN001, ANN202
        return s.sample(random.Random(0))

    models = [BenchModel("vl", str(SPACES / "tiny.yaml"), sample, "a red ellipse"),
              BenchModel("vision", str(SPACES / "tiny_siamcar.yaml"), sample, None),
              BenchModel("resnet", str(SPACES / "tiny_resnet.yaml"), lambda s: s.arch({}), None)]
    report = bench_trackers(SPACES, frames=3, warmup=1, models=models)
    assert [r["model"] for r in report["results"]] == ["vl", "vision", "resnet"]
    rate = report["matmul"]["gflops"]
    assert rate > 0 and report["matmul"]["n"] == 2048
    for row in report["results"]:
        assert row["frames_timed"] == 3 and 0 < row["min_ms"] <= row["median_ms"] and row["params"] > 0
        assert 0 < row["per_frame_macs"] <= row["macs"]  # the template side is cached, not re-run per frame
        assert row["floor_ms"] == pytest.approx(2 * row["per_frame_macs"] / (rate * 1e9) * 1000)
        assert row["x_floor"] == pytest.approx(row["median_ms"] / row["floor_ms"])
    assert report["speedup_vlt_scar_vs_resnet50"] > 0 and report["results"][0]["slowdown_vs_vlt_scar"] == 1


def test_matmul_rate_counts_two_flops_per_mac() -> None:
    assert matmul_gflops(n=64, repeats=2) > 0


def test_paper_cand_is_read_from_beside_its_space(tmp_path: Path) -> None:
    cand = paper_cand(SPACES)
    assert [len(part) for part in cand] == [20, 20, 4, 4]
    assert cand[2] == [3, 0, 3, 0]
    (tmp_path / "vlt_scar.cand.yaml").write_text("paper_cand: [[1, 2], [3], 'x']\n")
    with pytest.raises(ConfigError, match=r"vlt_scar\.cand\.yaml.*paper_cand: must be four lists of integers"):
        paper_cand(tmp_path)
    with pytest.raises(ConfigError, match="no vlt_scar.cand.yaml"):
        paper_cand(tmp_path / "elsewhere")
