"""One registry type for every pluggable kind (ops, trackers, strategies).

Plugins register with a decorator. Plugins that live outside `nasvl` (the
`trackers/` and `strategies/` packages, or a user's package) are found through
an entry-point group, so the engine never imports them by name. An unknown name
raises a ConfigError that lists the valid ones, never a bare KeyError.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nasvl.errors import ConfigError, known

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
        self._entry_points: list[importlib.metadata.EntryPoint] | None = None

    def register(self, name: str, *, overwrite: bool = False) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            if name in self._items and not overwrite and self._items[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._items[name] = obj
            return obj

        return decorator

    def _load_entry_points(self) -> None:
        # Importing an entry point's module runs its @register decorators. Load every time
        # (a sys.modules lookup once imported): if the registry is consulted while a plugin
        # module is itself still being imported, a later call must see its registrations.
        if self.entry_point_group is None:
            return
        if self._entry_points is None:
            self._entry_points = list(importlib.metadata.entry_points(group=self.entry_point_group))
        for ep in self._entry_points:
            ep.load()

    def get(self, name: str) -> T:
        if name not in self._items:
            self._load_entry_points()
        if name not in self._items:
            raise ConfigError(f"unknown {self.kind} {name!r} {known(self.names())}")
        return self._items[name]

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
