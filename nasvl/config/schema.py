"""Strict parsing of YAML mappings into frozen dataclasses (nanoGPT/timm-style config).

Field types drive validation: int, float, str, bool, Literal[...], Optional[T],
list[T], tuple[T, ...], dict[str, T] and nested dataclasses. Unknown keys are
errors; fields without a default are required. Every error is located.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from nasvl.config.yamldoc import Node

T = TypeVar("T")


def parse_dataclass(cls: type[T], node: Node) -> T:
    """Build `cls` from the mapping at `node`, raising a located ConfigError on any violation."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    required = {
        name for name, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
    }
    node.check_keys(set(fields), required)
    kwargs = {}
    for key, child in node.items():
        kwargs[key] = value = _parse_value(hints[key], child)
        _check_bounds(fields[key], value, child)
    return cls(**kwargs)


def _check_bounds(field: dataclasses.Field, value: Any, node: Node) -> None:
    """Fields declared with `limits.bounded(...)` are checked here, once, for every config class."""
    limit, minimum = field.metadata.get("limit"), field.metadata.get("minimum")
    if not isinstance(value, int | float) or isinstance(value, bool):
        return
    if minimum is not None and value < minimum:
        raise node.error(f"must be >= {minimum}, got {value}")
    if limit is not None:
        limit.check(value, file=node.doc.file, line=node.doc.line(node.path), path=node.path_str)


def _parse_value(tp: Any, node: Node) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return node.value
    if origin in (typing.Union, types.UnionType):
        args = get_args(tp)
        if node.value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        errors = []
        for arg in non_none:
            try:
                return _parse_value(arg, node)
            except ValueError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is Literal:
        choices = get_args(tp)
        if node.value not in choices:
            raise node.error(f"{node.value!r} is not one of {', '.join(map(str, choices))}")
        return node.value
    if origin is list:
        (item,) = get_args(tp)
        return [_parse_value(item, child) for child in node.seq()]
    if origin is tuple:
        args = get_args(tp)
        items = node.seq()
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_parse_value(args[0], c) for c in items)
        if len(items) != len(args):
            raise node.error(f"expected a list of {len(args)} items, got {len(items)}")
        return tuple(_parse_value(a, c) for a, c in zip(args, items, strict=True))
    if origin is dict:
        key_tp, value_tp = get_args(tp)
        out = {}
        for key, child in node.items():
            if key_tp is str and not isinstance(key, str):
                raise child.error(f"keys must be strings, got {key!r}")
            out[key] = _parse_value(value_tp, child)
        return out
    if dataclasses.is_dataclass(tp):
        return parse_dataclass(tp, node)
    if tp is bool:
        return node.as_bool()
    if tp is int:
        return node.as_int()
    if tp is float:
        return node.as_float()
    if tp is str:
        return node.as_str()
    raise TypeError(f"unsupported config field type {tp!r}")
