"""`bench_trackers` end to end on tiny spaces (the real run times full-size models for minutes)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from nasvl.bench.trackers import BenchModel, bench_trackers, matmul_gflops, paper_cand, time_in_turns
from nasvl.errors import ConfigError
from tests.conftest import SPACES


def test_bench_reports_latency_floor_and_ratios() -> None:
    def sample(s):  # noqa: ANN001, ANN202
        return s.sample(random.Random(0))

    models = [BenchModel("vl", str(SPACES / "tiny.yaml"), sample, "a red ellipse"),
              BenchModel("vision", str(SPACES / "tiny_siamcar.yaml"), sample, None),
              BenchModel("resnet", str(SPACES / "tiny_resnet.yaml"), lambda s: s.arch({}), None)]
    report = bench_trackers(SPACES, frames=3, warmup=1, models=models, block=3)
    assert [r["model"] for r in report["results"]] == ["vl", "vision", "resnet"]
    assert report["block"] == 3 and report["frames_timed"] == 4  # two turns of 3, the first of each untimed
    rate = report["matmul"]["gflops"]
    assert rate > 0 and report["matmul"]["n"] == 2048
    for row in report["results"]:
        assert row["frames_timed"] == 4 and 0 < row["min_ms"] <= row["median_ms"] and row["params"] > 0
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


class _Recorder:
    """A tracker that records which frame it was given, in one log shared by all recorders."""

    def __init__(self, name: str, log: list[tuple[str, int]]) -> None:
        self.name, self.log = name, log

    def track(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        self.log.append((self.name, int(frame[0, 0, 0])))
        return np.zeros(4), 0.0


def test_trackers_take_turns_of_block_frames_and_the_first_of_each_is_untimed() -> None:
    log: list[tuple[str, int]] = []
    frames = [np.full((2, 2, 3), i, dtype=np.uint8) for i in range(7)]
    times = time_in_turns({"a": _Recorder("a", log), "b": _Recorder("b", log)}, frames, block=3)
    # Two whole turns of 3 frames; the 7th frame does not fill a turn and is not used.
    assert log == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2),
                   ("a", 3), ("a", 4), ("a", 5), ("b", 3), ("b", 4), ("b", 5)]
    assert {k: len(v) for k, v in times.items()} == {"a": 4, "b": 4} and all(t >= 0 for v in times.values() for t in v)


@pytest.mark.parametrize("block", [0, 1])
def test_a_turn_needs_a_timed_frame(block: int) -> None:
    with pytest.raises(ConfigError, match=f"--block must be at least 2 frames.*got {block}"):
        bench_trackers(SPACES, frames=3, block=block, models=[])
