"""The latency lookup table's error against whole-network latency, per deployment runtime
(`nasvl bench latency` prints it).

For each runtime: time every op of the space's per-frame branch (`measure_table`), measure the
whole per-frame network of `calibrate` architectures and fit the table's constant to them
(`calibrate`), then measure `archs` other architectures and report both the raw table's error
(pieces summed as timed) and the calibrated table's. The same measured latencies serve both, so
the two errors differ only by the fit.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from nasvl.cost.latency import calibrate, measure_table, prediction_error, sample_archs
from nasvl.cost.timing import measure_arch_ms
from nasvl.deploy.runtimes import check_runtime
from nasvl.space import load_space
from nasvl.supernet import build_supernet


def bench_latency(space_path: str | Path, runtimes: Sequence[str], *, calibrate_archs: int = 4,
                  archs: int = 6, repeats: int = 10, seed: int = 0, threads: int | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    say = progress or (lambda _m: None)
    for runtime in runtimes:
        check_runtime(runtime)
    if threads:
        torch.set_num_threads(threads)
    space = load_space(space_path)
    torch.manual_seed(seed)
    net = build_supernet(space).eval()
    fit_on = sample_archs(space, calibrate_archs, seed + 1)
    held_out = sample_archs(space, archs, seed, exclude={a.key for a in fit_on})
    results = []
    for runtime in runtimes:
        started = time.perf_counter()
        say(f"{runtime}: timing every op of the per-frame branch")
        raw = measure_table(net, "cpu", repeats, runtime, threads)
        table_s = time.perf_counter() - started
        say(f"{runtime}: whole network, {len(fit_on)} architectures to calibrate and {len(held_out)} to test")
        fitted = calibrate(net, raw, fit_on, repeats, threads)
        measured = [measure_arch_ms(net, a, "cpu", repeats, runtime, threads) for a in held_out]
        results.append({
            "runtime": runtime, "table_seconds": table_s, "seconds": time.perf_counter() - started,
            "raw_fixed_ms": raw.fixed_ms, "calibrated_fixed_ms": fitted.fixed_ms,
            "calibration": fitted.calibration,
            "raw": prediction_error(raw, space, held_out, measured),
            "calibrated": prediction_error(fitted, space, held_out, measured),
        })
    return {"benchmark": "latency lookup table vs whole-network per-frame latency, per runtime",
            "space": str(space_path), "space_hash": space.hash, "repeats": repeats, "seed": seed,
            "threads": torch.get_num_threads(), "torch": torch.__version__, "machine": platform.processor()
            or platform.machine(), "calibrate_archs": len(fit_on), "test_archs": len(held_out),
            "results": results}
