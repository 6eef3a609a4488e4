"""Safe YAML loading that remembers the line of every value, and refuses hostile documents.

`yaml.safe_load` loses positions, so errors could only say *what* is wrong. We
compose the node graph with the safe loader, build plain Python values from it,
and keep a map from YAML path (tuple of keys/indices) to 1-based line number.
`Node` is a cursor over that document that builds error messages for free.

A document is checked *before* anything is composed or expanded, so a hostile file costs
no more than reading it once: its byte size (YAML_BYTES) and encoding, then one pass over
the parser's events that counts nodes with every alias expanded (YAML_NODES: a "billion
laughs" bomb is caught wherever it sits), alias uses (YAML_ALIASES) and nesting depth
(YAML_DEPTH, so nothing later can hit a RecursionError), and refuses merge keys and
tags outside the safe core set. Integers are capped at INT_DIGITS digits. JSON that a user
supplies (architecture files, `--sots-cand`) goes through `load_json_text`, under the same limits.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from nasvl.config.limits import INT_DIGITS, YAML_ALIASES, YAML_BYTES, YAML_DEPTH, YAML_NODES, Limit
from nasvl.errors import ConfigError

PathT = tuple[Any, ...]

# libyaml when present: the event pass over a 1 MiB document must stay well under a second.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CORE = "tag:yaml.org,2002:"
# Explicit tags a document may carry: the JSON-like core schema ('!' is YAML's "plain string" tag).
_SAFE_TAGS = {"!"} | {_CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq")}
# Scalar tags the resolver may infer from plain text (dates stay dates, as yaml.safe_load reads them).
_SCALAR_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_CONSTRUCTOR = SafeConstructor()
_INT_PREFIX = re.compile(r"^[-+]?0[xXbBoO]")


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



def _limit_error(limit: Limit, value: Any, file: str, line: int | None = None) -> ConfigError:
    return ConfigError(limit.message(value), file=file, line=line)


def _check_bytes(size: int, file: str, limit: Limit = YAML_BYTES) -> None:
    if size > limit.value:
        raise _limit_error(limit, size, file)


def _yaml_error(exc: yaml.YAMLError, file: str, text: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    position = getattr(exc, "position", None)  # reader errors (control characters) give a character index
    if line is None and isinstance(position, int):
        line = text.count("\n", 0, position) + 1
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.reader.ReaderError):  # its str() spans lines; the error is one line
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        problem = f"unacceptable character #x{code:04x}: {exc.reason}"
    if "nesting depth" in problem:  # libyaml stops at its own depth before our event pass sees it
        return _limit_error(YAML_DEPTH, "nesting past libyaml's own maximum", file, line)
    return ConfigError(f"invalid YAML: {problem}", file=file, line=line)


def _check_events(text: str, file: str) -> None:
    """One pass over the parser's events: sizes after alias expansion, depth, tags and merge keys.

    `nodes` is the size of the document as it would be built, aliases expanded: a collection
    counts 1 plus its contents, and an alias counts its anchor's whole expanded size each time.
    """
    nodes = aliases = 0
    anchor_size: dict[str, int] = {}      # anchor -> expanded node count of its value
    open_anchors: set[str] = set()        # anchors whose collection has not ended yet
    stack: list[list[Any]] = []           # [anchor, nodes at start, is_mapping, children so far]
    max_nodes, max_aliases, max_depth = YAML_NODES.value, YAML_ALIASES.value, YAML_DEPTH.value
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        is_node = isinstance(event, yaml.ScalarEvent | yaml.AliasEvent | yaml.CollectionStartEvent)
        if not is_node:
            if isinstance(event, yaml.CollectionEndEvent):
                anchor, started, _, _ = stack.pop()
                if anchor is not None:
                    open_anchors.discard(anchor)
                    anchor_size[anchor] = nodes - started
            continue
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _SAFE_TAGS:
            raise ConfigError(f"YAML tag {tag!r} is not allowed (only plain strings, numbers, booleans, "
                              "null, mappings and lists)", file=file, line=line)
        key_position = bool(stack) and stack[-1][2] and stack[-1][3] % 2 == 0
        if stack:
            stack[-1][3] += 1
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > max_aliases:
                raise _limit_error(YAML_ALIASES, aliases, file, line)
            if event.anchor in open_anchors:
                raise ConfigError(f"alias *{event.anchor} refers to a node that contains it (a recursive "
                                  "document)", file=file, line=line)
            if event.anchor not in anchor_size:
                raise ConfigError(f"alias *{event.anchor} has no anchor &{event.anchor} before it",
                                  file=file, line=line)
            nodes += anchor_size[event.anchor]
        else:
            nodes += 1
            if isinstance(event, yaml.ScalarEvent):
                if event.value == "<<" and event.implicit[0] and key_position:
                    raise ConfigError("YAML merge keys ('<<') are not supported: they silently override keys; "
                                      "write the keys out", file=file, line=line)
                if event.anchor is not None:
                    anchor_size[event.anchor] = 1
            else:
                stack.append([event.anchor, nodes - 1, isinstance(event, yaml.MappingStartEvent), 0])
                if event.anchor is not None:
                    open_anchors.add(event.anchor)
                if len(stack) > max_depth:
                    raise _limit_error(YAML_DEPTH, len(stack), file, line)
        if nodes > max_nodes:
            raise _limit_error(YAML_NODES, nodes, file, line)


def _build(node: yaml.Node, path: PathT, lines: dict[PathT, int], file: str) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError("mapping keys must be plain scalars", file=file,
                                  line=key_node.start_mark.line + 1, path=_fmt(path))
            key = _scalar(key_node, file)
            if key in out:
                raise ConfigError(f"duplicate key {key!r}", file=file, line=key_node.start_mark.line + 1,
                                  path=_fmt((*path, key)))
            out[key] = _build(value_node, (*path, key), lines, file)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, file) for i, item in enumerate(node.value)]
    return _scalar(node, file)


def _scalar(node: yaml.Node, file: str) -> Any:
    line = node.start_mark.line + 1
    if node.tag == "!" or node.tag not in _SCALAR_TAGS:  # '!' and the resolver's "value" tag ('=')
        return str(node.value)
    if node.tag == _CORE + "int":
        digits = sum(ch.isalnum() for ch in _INT_PREFIX.sub("", node.value))
        if digits > INT_DIGITS.value:
            raise ConfigError(INT_DIGITS.message(digits), file=file, line=line)
    try:
        return _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)
    except (yaml.YAMLError, ValueError, KeyError, OverflowError) as exc:  # e.g. a timestamp like 2024-13-45
        raise ConfigError(f"invalid {node.tag.removeprefix(_CORE)} {node.value[:40]!r}: {exc}",
                          file=file, line=line) from None


def load_yaml_text(text: str, file: str = "<string>") -> YamlDoc:
    """Parse YAML text into a located document, refusing hostile documents before composing them."""
    _check_bytes(len(text.encode("utf-8", "surrogatepass")), file)
    try:
        _check_events(text, file)
        composed = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, file, text) from None
    lines: dict[PathT, int] = {}
    data = {} if composed is None else _build(composed, (), lines, file)
    return YamlDoc(data, file, lines)


def read_text_bounded(path: str | Path, what: str = "file") -> tuple[str, str]:
    """(text, file name) of a UTF-8 file of at most YAML_BYTES, read without reading more than that."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"is a directory, expected a {what}", file=str(p))
    if not p.exists():
        raise ConfigError("file not found", file=str(p))
    if not p.is_file():
        raise ConfigError(f"not a regular file (expected a {what})", file=str(p))
    try:
        with p.open("rb") as fh:
            raw = fh.read(YAML_BYTES.value + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(p)) from None
    _check_bytes(max(len(raw), p.stat().st_size), p.name)
    try:
        text = raw.decode("utf-8-sig")  # a UTF-8 byte-order mark is harmless; UTF-16 is not UTF-8
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8",
                          file=p.name, line=line) from None
    return text, p.name


def load_yaml(path: str | Path) -> YamlDoc:
    text, name = read_text_bounded(path, "YAML file")
    return load_yaml_text(text, file=name)


# ---- JSON a user supplies (architecture files, CAND strings, exports) ------------------------------
_JSON_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_JSON_BRACKET = re.compile(r"[\[\]{}\n]")


def load_json_text(text: str, file: str = "<json>", size_limit: Limit = YAML_BYTES) -> Any:
    """`json.loads` under the YAML limits: size, nesting depth, integer digits; no NaN, no duplicate keys.

    `size_limit` is for JSON that grows with a run (a search's records) rather than written by hand.
    """
    _check_bytes(len(text.encode("utf-8", "surrogatepass")), file, size_limit)
    # json.loads recurses per level: measure the depth first (strings cannot hold raw newlines).
    depth, line, max_depth = 0, 1, YAML_DEPTH.value
    for m in _JSON_BRACKET.finditer(_JSON_STRING.sub('""', text)):
        ch = m.group()
        if ch == "\n":
            line += 1
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                raise _limit_error(YAML_DEPTH, depth, file, line)
        else:
            depth -= 1

    def parse_int(value: str) -> int:
        digits = len(value.lstrip("-"))
        if digits > INT_DIGITS.value:
            raise ConfigError(INT_DIGITS.message(digits), file=file)
        return int(value)

    def parse_constant(value: str) -> Any:
        raise ConfigError(f"{value} is not a finite number", file=file)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise ConfigError(f"duplicate key {key!r}", file=file)
            out[key] = value
        return out

    try:
        return json.loads(text, parse_int=parse_int, parse_constant=parse_constant, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg} (column {exc.colno})", file=file, line=exc.lineno) from None


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

    def within(self, limit: Limit, value: int | float | None = None) -> None:
        """Raise a located ConfigError naming `limit` when `value` (default: this node's value) is over it."""
        limit.check(self.value if value is None else value, file=self.doc.file, line=self.doc.line(self.path),
                    path=self.path_str)

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
