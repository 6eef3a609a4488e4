"""Validation benchmark: worst-case spaces and jobs cost under a second and under 200 MB, whatever they say.

    python benchmarks/bench_validation.py [--out runs/bench/validation.json]

Each case is a hostile or maximal search-space document (alias bomb, depth bomb, a document just
under the 1 MiB limit, huge depths and channels, deep nesting, the largest space the limits
accept). It is validated in-process by `nasvl.space.parse_space_text` (the code `space validate`
runs) in a forked child, so cases do not share a memory peak: once untraced for the wall time, then
again under tracemalloc for the Python peak, with the child's peak RSS reset first
(`/proc/self/clear_refs`) so the RSS growth of that run is its own. Prints a table and writes the figures as JSON (atomically).

`tests/config/test_worst_cases.py` runs the same cases (no timing) to prove each is handled.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

BUDGET_S, BUDGET_MB = 1.0, 200.0

BASE = """\
name: worst
description: worst-case validation
branches:
  template: {input: 127}
  search: {input: 255}
share_weights: true
backbone:
  stem: {channels: 16, kernel: 3, stride: 2}
  ops: [shuffle3, shuffle5, shuffle7, xception3]
  stages:
    stage1: {channels: 64, depth: 4, stride: 2}
    stage2: {channels: 160, depth: 4, stride: 2}
    stage3: {channels: 320, depth: 8, stride: 1, projection: true}
    stage4: {channels: 640, depth: 4, stride: 1, projection: true}
mixer:
  language_dim: 384
  pre: {fixed: skip}
  post: {ops: [shuffle3, shuffle5, shuffle7, xception3]}
"""


def _sub(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def _bomb(levels: int = 9) -> str:
    lines = ["  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "extra:\n" + "\n".join(lines) + "\n"


def _largest_accepted() -> str:
    """At the block limit (2 branches x 8 stages x 64 layers = 1024 blocks) with 128 tie patterns."""
    stages = "".join(f"    s{i}: {{channels: 64, depth: 64, stride: 1}}\n" for i in range(1, 8))
    ties = "".join(f"  'template.s{s}.{i}': 'search.s{s}.{i}'\n" for s in (1, 2) for i in range(64))
    return ("name: largest\nbranches:\n  template: {input: 127}\n  search: {input: 255}\nbackbone:\n"
            "  stem: {channels: 16, kernel: 3, stride: 2}\n  ops: [shuffle3, shuffle5, shuffle7, xception3]\n"
            "  stages:\n    s0: {channels: 64, depth: 64, stride: 2}\n" + stages + "ties:\n" + ties)


def _nodes_at_limit() -> str:
    """A valid space whose description holds a list just under the YAML node limit."""
    from nasvl.config.limits import YAML_NODES

    return _sub("description: worst-case validation",
                "description: [" + ", ".join(["x"] * (YAML_NODES.value - 200)) + "]")


# name -> (document text, whether the space is accepted)
CASES: dict[str, Callable[[], tuple[str, bool]]] = {
    "alias bomb (billion laughs, 10^9 nodes)": lambda: (BASE + _bomb(), False),
    "alias bomb in description": lambda: (_sub("description: worst-case validation",
                                                "description:\n" + _bomb().replace("extra:\n", "")), False),
    "depth: 100000000": lambda: (_sub("depth: 8,", "depth: 100000000,"), False),
    "channels: 100000000": lambda: (_sub("channels: 640,", "channels: 100000000,"), False),
    "input: 4095": lambda: (_sub("{input: 255}", "{input: 4095}"), False),
    "1 MiB document (just under the limit)": lambda: (BASE + "# " + "x" * ((1 << 20) - len(BASE) - 4) + "\n",
                                                      True),
    "document over 1 MiB": lambda: (BASE + "# " + "x" * (1 << 20) + "\n", False),
    "flow nesting 100000 deep": lambda: (_sub("description: worst-case validation",
                                              "description: " + "[" * 100_000 + "]" * 100_000), False),
    "block nesting 63 deep (valid)": lambda: (_sub("description: worst-case validation", "description:\n" + "\n".join(
        "  " * (i + 1) + f"k{i}:" for i in range(62)) + " 1"), True),
    "JSON nesting 5000 deep": lambda: ('{"name": "x", "d": ' + '{"a": ' * 5000 + "1" + "}" * 5000 + "}", False),
    "5000-digit integer": lambda: (_sub("depth: 8,", "depth: " + "9" * 5000 + ","), False),
    "nodes just under YAML_NODES (valid)": lambda: (_nodes_at_limit(), True),
    "1024 blocks + 128 ties (valid)": lambda: (_largest_accepted(), True),
    "pathological tie pattern": lambda: (BASE + "ties:\n  '" + "*a" * 200 + "': '" + "*b" * 200 + "'\n", False),
}


ROOT = Path(__file__).resolve().parents[1]
JOB = f"""\
name: worst
language: {{model: minilm}}
data:
  synth: {{videos: 6, seed: 0, min_frames: 20, max_frames: 24}}
supernet:
  space: {ROOT / "search_spaces" / "tiny.yaml"}
  pairs:
    sources: [{{root: "${{data}}/train", format: lasot, lang_mode: template}}]
  train: {{steps: 40, batch_size: 2}}
search:
  val: {{root: "${{data}}/val", format: lasot}}
  search: {{strategy: spos_evolution, options: {{population: 8, generations: 3}}, trials_in_parallel: 2}}
export: {{top: 1}}
retrain: {{train: {{steps: 4, batch_size: 2}}}}
evaluate: {{datasets: [{{name: test, root: "${{data}}/test", format: lasot}}]}}
compute: {{train_workers: 1}}
"""


def _job(old: str, new: str) -> str:
    assert old in JOB, old
    return JOB.replace(old, new, 1)


# Jobs are validated as `nasvl run JOB --dry-run` does without the machine checks: parse, then check
# every space, strategy option, crop and device.
JOB_CASES: dict[str, Callable[[], tuple[str, bool]]] = {
    "job: the quickstart-shaped job (valid)": lambda: (JOB, True),
    "job: alias bomb": lambda: (JOB + _bomb(), False),
    "job: train_workers: 100000": lambda: (_job("train_workers: 1", "train_workers: 100000"), False),
    "job: search budget 10^12": lambda: (_job("generations: 3", "generations: 1000000000000"), False),
    "job: document over 1 MiB": lambda: (JOB + "# " + "x" * (1 << 20) + "\n", False),
    "job: flow nesting 100000 deep": lambda: (_job("name: worst", "name: worst\nx: " + "[" * 100_000
                                                   + "]" * 100_000), False),
    "job: 5000-digit steps": lambda: (_job("steps: 40,", "steps: " + "9" * 5000 + ","), False),
}


def validate(text: str, kind: str = "space") -> tuple[bool, str]:
    """(accepted, message): what `space validate` (or `run --dry-run` for a job) would say, in-process."""
    from nasvl.config import load_yaml_text
    from nasvl.errors import NasvlError
    from nasvl.jobs.check import check_job
    from nasvl.jobs.spec import parse_job
    from nasvl.space import parse_space_text

    try:
        if kind == "job":
            check_job(parse_job(load_yaml_text(text, "job.yaml")))
            return True, "ok"
        space = parse_space_text(text, "worst.yaml")
    except NasvlError as exc:
        return False, str(exc)
    return True, f"ok ({len(space.slots)} blocks)"


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(name: str) -> dict:
    """Validate one case in a forked child: wall time untraced, then tracemalloc peak and RSS growth."""
    kind = "job" if name in JOB_CASES else "space"
    text, expect_ok = {**CASES, **JOB_CASES}[name]()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        started = time.perf_counter()
        ok, message = validate(text, kind)
        seconds = time.perf_counter() - started
        with open("/proc/self/clear_refs", "w") as fh:  # "5" resets the peak RSS (VmHWM) to the current RSS
            fh.write("5")
        rss_before = _status_mb("VmRSS")
        tracemalloc.start()
        validate(text, kind)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rss_delta = _status_mb("VmHWM") - rss_before
        with os.fdopen(write_fd, "w") as fh:
            json.dump({"accepted": ok, "message": message[:300], "seconds": seconds, "tracemalloc_mb": peak,
                       "rss_delta_mb": max(0.0, rss_delta)}, fh)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as fh:
        result = json.loads(fh.read() or "{}")
    os.waitpid(pid, 0)
    result.update(case=name, bytes=len(text.encode()), expected_accepted=expect_ok)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/bench/validation.json")
    args = parser.parse_args(argv)
    validate(BASE)  # import nasvl (torch) once, before forking, so children time validation only
    rows = [measure(name) for name in [*CASES, *JOB_CASES]]
    print(f"{'case':42} {'bytes':>9} {'result':>8} {'wall s':>7} {'tracemalloc MB':>15} {'RSS +MB':>8}")
    for r in rows:
        verdict = "ok" if r.get("accepted") else "refused"
        print(f"{r['case']:42} {r['bytes']:>9} {verdict:>8} {r.get('seconds', float('nan')):>7.3f} "
              f"{r.get('tracemalloc_mb', float('nan')):>15.1f} {r['rss_delta_mb']:>8.1f}")
    worst_s = max(r.get("seconds", 1e9) for r in rows)
    worst_mb = max(max(r.get("tracemalloc_mb", 1e9), r["rss_delta_mb"]) for r in rows)
    ok = worst_s < BUDGET_S and worst_mb < BUDGET_MB and all(r.get("accepted") == r["expected_accepted"]
                                                            for r in rows)
    print(f"worst: {worst_s:.3f} s, {worst_mb:.1f} MB (budget {BUDGET_S} s, {BUDGET_MB} MB): "
          f"{'within' if ok else 'OVER'}")
    from nasvl.io import atomic_write_json

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.node(),
        "cpus": os.cpu_count(), "python": sys.version.split()[0], "load_avg": os.getloadavg(),
        "budget": {"seconds": BUDGET_S, "mb": BUDGET_MB}, "worst": {"seconds": worst_s, "mb": worst_mb},
        "within_budget": ok, "cases": rows,
    })
    print(f"wrote {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
