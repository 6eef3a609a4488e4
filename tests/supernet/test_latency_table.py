"""The latency lookup table and whole-network latency, under every deployment runtime (issue 17).

Timings themselves are never asserted (they depend on the machine's load): what is checked is
that every runtime prices every op of the per-frame branch, that calibration fits the constant it
says it fits, that validation never scores an architecture the table was fitted on, and that a
table round-trips through its file.
"""

from __future__ import annotations

import json
import math
import random
import statistics

import pytest

from nasvl.cost import LatencyTable, calibrate, measure_arch_ms, measure_table, validate
from nasvl.cost.latency import sample_archs
from nasvl.deploy.runtimes import RUNTIMES
from nasvl.errors import ConfigError
from nasvl.space import load_space
from nasvl.supernet import build_supernet
from tests.conftest import SPACES


@pytest.fixture(scope="module")
def tiny_net():
    return build_supernet(load_space(SPACES / "tiny.yaml")).eval()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_runtime_prices_every_per_frame_op_and_calibrates(tiny_net, runtime: str) -> None:
    space = tiny_net.space
    table = measure_table(tiny_net, "cpu", repeats=1, runtime=runtime, threads=1)
    assert table.runtime == runtime and table.branch == "search"
    assert set(table.ops_ms) == {s.path for s in space.slots if s.branch == "search"}
    assert all(set(ops) == set(space.slot(path).options) for path, ops in table.ops_ms.items())
    assert all(math.isfinite(ms) and ms > 0 for ops in table.ops_ms.values() for ms in ops.values())
    assert table.fixed_ms > 0

    fit_on = sample_archs(space, 2, seed=1)
    fitted = calibrate(tiny_net, table, fit_on, repeats=1, threads=1)
    assert fitted.ops_ms == table.ops_ms and [r["arch"] for r in fitted.calibration] == [a.key for a in fit_on]
    # The constant is the mean residual of the calibration architectures, so their errors cancel.
    residuals = [r["measured_ms"] - fitted.predict(a, space) for r, a in zip(fitted.calibration, fit_on, strict=True)]
    assert statistics.fmean(residuals) == pytest.approx(0, abs=1e-9)

    report = validate(tiny_net, fitted, samples=2, repeats=1, threads=1)
    assert report["runtime"] == runtime and len(report["rows"]) == 2
    assert not {r["arch"] for r in report["rows"]} & {a.key for a in fit_on}
    assert all(r["measured_ms"] > 0 and math.isfinite(r["error_pct"]) for r in report["rows"])


def test_backbone_latency_and_table(tiny_backbone) -> None:
    net = build_supernet(tiny_backbone)
    table = measure_table(net, "cpu", repeats=1)
    assert table.branch == "template"  # no tracker: the first branch is the network
    arch = tiny_backbone.sample(random.Random(0))
    assert table.predict(arch, tiny_backbone) > table.fixed_ms > 0
    assert measure_arch_ms(net, arch, repeats=1) > 0
    with pytest.raises(ConfigError, match="no tracker head: only runtime 'torch-plain'"):
        measure_arch_ms(net, arch, repeats=1, runtime="onnx")


def test_unknown_runtime_is_refused(tiny_net) -> None:
    with pytest.raises(ConfigError, match="unknown runtime 'tensorrt'"):
        measure_table(tiny_net, "cpu", repeats=1, runtime="tensorrt")


def test_sampled_architectures_are_distinct_and_avoid_the_excluded(tiny_net) -> None:
    space = tiny_net.space
    first = sample_archs(space, 5, seed=3)
    assert len({a.key for a in first}) == 5
    others = sample_archs(space, 5, seed=3, exclude={a.key for a in first})
    assert not {a.key for a in others} & {a.key for a in first}


def test_table_round_trips_and_refuses_another_shape(tiny_net, tmp_path) -> None:
    table = measure_table(tiny_net, "cpu", repeats=1, runtime="torch")
    path = tmp_path / "lut.json"
    table.save(path)
    assert LatencyTable.load(path) == table
    data = json.loads(path.read_text())
    del data["runtime"]  # a table from before runtimes: which runtime it prices is unknown
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="lut.json.*keys .*runtime"):
        LatencyTable.load(path)
