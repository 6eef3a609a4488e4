"""Pre-flight on a cluster: one small task on every alive node before the first step.

Each node checks what the run will need there: the run folder is the driver's own (it reads a
token the driver just wrote, so a same-named local folder does not pass) and writable, the data
roots are readable, the language model is installed, and nasvl and Ray have the driver's versions.
Every failing node gets one line: node IP, path, what is wrong. On a local runtime every worker
is this machine, this filesystem and this installation, so the checks are trivially true and skipped.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from nasvl.errors import NasvlError

TOKEN_FILE = ".preflight"
TIMEOUT_S = 180.0


def check_node(run_dir: str, token: str, roots: list[tuple[str, str]], model: str | None,
               versions: dict[str, str]) -> list[str]:
    """Runs on one node; returns its problems as 'PATH: what is wrong' (empty when all is well)."""
    import ray

    import nasvl

    problems: list[str] = []
    found = {"nasvl": nasvl.__version__, "ray": ray.__version__}
    for name, want in versions.items():
        if found[name] != want:
            problems.append(f"{name} {found[name]} is installed here, the driver runs {want}")
    marker = Path(run_dir) / TOKEN_FILE
    try:
        seen = marker.read_text(encoding="utf-8").strip()
    except OSError as exc:
        seen = None
        problems.append(f"{run_dir}: the run folder is not reachable here ({exc.strerror or exc}); it must be on "
                        "storage every node mounts at the same path")
    if seen is not None and seen != token:
        problems.append(f"{run_dir}: this node sees another folder under that path (not the driver's run folder); "
                        "it must be on storage every node mounts at the same path")
    if seen is not None:
        probe = Path(run_dir) / f".preflight-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            probe.write_text("ok", encoding="utf-8")
            probe.unlink()
        except OSError as exc:
            problems.append(f"{run_dir}: cannot write the run folder here ({exc.strerror or exc})")
    for where, root in roots:
        if not Path(root).is_dir():
            problems.append(f"{root}: {where}: not found here")
        elif not os.access(root, os.R_OK | os.X_OK):
            problems.append(f"{root}: {where}: not readable here")
    if model is not None:
        from nasvl.language.encoder import resolve_model_dir

        try:
            resolve_model_dir(model)
        except NasvlError as exc:
            problems.append(f"language model: {exc}")
    return problems


def preflight(run_dir: str | Path, *, roots: list[tuple[str, str]] = (), model: str | None = None) -> None:
    """Run `check_node` on every alive node of the connected cluster; one NasvlError listing every problem."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    import nasvl

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    (run_dir / TOKEN_FILE).write_text(token, encoding="utf-8")
    versions = {"nasvl": nasvl.__version__, "ray": ray.__version__}
    task = ray.remote(num_cpus=0, max_retries=0)(check_node)
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    refs: dict[str, tuple[str, Any]] = {}
    for node in nodes:
        strategy = NodeAffinitySchedulingStrategy(node_id=node["NodeID"], soft=False)
        refs[node["NodeID"]] = (node["NodeManagerAddress"], task.options(scheduling_strategy=strategy).remote(
            str(run_dir), token, list(roots), model, versions))
    lines: list[str] = []
    for node_id, (ip, ref) in refs.items():
        try:
            problems = ray.get(ref, timeout=TIMEOUT_S)
        except Exception as exc:  # the node died meanwhile (not this run's problem), or cannot import nasvl
            if not any(n["NodeID"] == node_id and n.get("Alive") for n in ray.nodes()):
                continue
            last = next((s for s in reversed(str(exc).splitlines()) if s.strip()), type(exc).__name__)
            problems = [f"the check could not run: {last.strip()[:300]}"]
        lines += [f"node {ip}: {p}" for p in problems]
    if lines:
        raise NasvlError(f"pre-flight failed on {len({line.split(':')[0] for line in lines})} node(s):\n  "
                         + "\n  ".join(lines))

