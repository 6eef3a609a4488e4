"""The layers import downwards only (issue "One concept, one place").

Every `import` counts, at module level or inside a function: a function-local import hides a
dependency from the reader, it does not remove it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOW = ("nasvl.space", "nasvl.ops", "nasvl.supernet")
HIGH = ("nasvl.search", "nasvl.train", "nasvl.jobs", "nasvl.tracking", "nasvl.cli")


def _unit(module: str) -> str:
    """A subpackage of nasvl (`nasvl.search`), a top-level nasvl module (`nasvl.io`), or a plugin package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "nasvl" and len(parts) > 1 else parts[0]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, dict[str, list[str]]]:
    """{unit: {imported unit: ["file:line", ...]}} over nasvl's own sources."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted((ROOT / "nasvl").rglob("*.py")):
        source = _unit(_module_name(path))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module]
            else:
                continue
            for target in targets:
                if target.split(".")[0] in ("nasvl", "trackers", "strategies") and _unit(target) != source:
                    graph[source][_unit(target)].append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return graph


def test_low_layers_import_nothing_from_the_high_ones() -> None:
    graph = import_graph()
    bad = {f"{low} -> {high}": where[:3] for low in LOW for high, where in graph[low].items()
           if high.startswith(HIGH)}
    assert not bad, bad


def test_the_engine_imports_no_plugin_package() -> None:
    graph = import_graph()
    bad = {f"{unit} -> {target}": where[:3] for unit, targets in graph.items()
           for target, where in targets.items() if target in ("trackers", "strategies")}
    assert not bad, bad


def test_no_import_cycles() -> None:
    graph = import_graph()
    cycles: list[list[str]] = []

    def walk(unit: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(unit, {})):
            if nxt == path[0]:
                cycles.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each cycle once, from its smallest unit
                walk(nxt, [*path, nxt])

    for start in sorted(graph):
        walk(start, [start])
    shown = [" -> ".join(c) + f"  ({graph[c[-2]][c[-1]][0]})" for c in cycles[:5]]
    assert not cycles, "\n".join(shown)
