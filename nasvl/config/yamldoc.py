"""Safe YAML loading that remembers the line of every value.

`yaml.safe_load` loses positions, so errors could only say *what* is wrong. We
compose the node graph with the safe loader, build plain Python values from it,
and keep a map from YAML path (tuple of keys/indices) to 1-based line number.
`Node` is a cursor over that document that builds error messages for free.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nasvl.errors import ConfigError

PathT = tuple[Any, ...]


@dataclass
class YamlDoc:
    data: Any
    file: str
    lines: dict[PathT, int] = field(default_factory=dict)

    def line(self, path: PathT) -> int | None:
        # Fall back to the nearest enclosing value that has a position.
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path)

    @property
    def root(self) -> Node:
        return Node(self, (), self.data)


def _build(node: yaml.Node, path: PathT, lines: dict[PathT, int], file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError("mapping keys must be plain scalars", file=file,
                                  line=key_node.start_mark.line + 1, path=_fmt(path))
            key = _scalar(key_node)
            if key in out:
                raise ConfigError(f"duplicate key {key!r}", file=file, line=key_node.start_mark.line + 1,
                                  path=_fmt((*path, key)))
            out[key] = _build(value_node, (*path, key), lines, file)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, file) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    return loader.construct_object(node, deep=True)


def load_yaml_text(text: str, file: str = "<string>") -> YamlDoc:
    try:
        composed = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"invalid YAML: {problem}", file=file, line=line) from None
    lines: dict[PathT, int] = {}
    data = {} if composed is None else _build(composed, (), lines, file)
    return YamlDoc(data, file, lines)


def load_yaml(path: str | Path) -> YamlDoc:
    p = Path(path)
    if not p.is_file():
        raise ConfigError("file not found", file=str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=str(p)) from None
    return load_yaml_text(text, file=p.name)


def _fmt(path: PathT) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class Node:
    """A located value inside a YamlDoc; `node.error(rule)` builds a ConfigError."""

    doc: YamlDoc
    path: PathT
    value: Any

    @property
    def path_str(self) -> str:
        return _fmt(self.path)

    def error(self, rule: str) -> ConfigError:
        return ConfigError(rule, file=self.doc.file, line=self.doc.line(self.path), path=self.path_str)

    def child(self, key: Any) -> Node:
        return Node(self.doc, (*self.path, key), self.value[key])

    def get(self, key: str, default: Any = None) -> Node:
        if isinstance(self.value, dict) and key in self.value:
            return self.child(key)
        return Node(self.doc, (*self.path, key), default)

    def items(self) -> Iterator[tuple[Any, Node]]:
        for key in self.mapping():
            yield key, self.child(key)

    def mapping(self) -> dict[Any, Any]:
        if self.value is None:
            return {}
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping, got {type(self.value).__name__}")
        return self.value

    def seq(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.error(f"expected a list, got {type(self.value).__name__}")
        return [self.child(i) for i in range(len(self.value))]

    def check_keys(self, allowed: set[str], required: set[str] = frozenset()) -> None:
        mapping = self.mapping()
        for key in mapping:
            if key not in allowed:
                raise self.child(key).error(f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required):
            if key not in mapping:
                raise self.error(f"missing required key {key!r}")

    def as_int(self, *, min_value: int | None = None) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"expected an integer, got {self.value!r}")
        if min_value is not None and self.value < min_value:
            raise self.error(f"must be >= {min_value}, got {self.value}")
        return self.value

    def as_float(self, *, min_value: float | None = None) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise self.error(f"expected a number, got {self.value!r}")
        if not math.isfinite(self.value):  # .nan / .inf in a config is always a mistake
            raise self.error(f"expected a finite number, got {self.value!r}")
        if min_value is not None and self.value < min_value:
            raise self.error(f"must be >= {min_value}, got {self.value}")
        return float(self.value)

    def as_str(self, choices: set[str] | None = None) -> str:
        if not isinstance(self.value, str):
            raise self.error(f"expected a string, got {self.value!r}")
        if choices is not None and self.value not in choices:
            raise self.error(f"{self.value!r} is not one of {', '.join(sorted(choices))}")
        return self.value

    def as_bool(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"expected true or false, got {self.value!r}")
        return self.value
