"""`TrialResult`: what evaluating one architecture produced (the evaluator builds these).

JSON is strict (no NaN/Infinity tokens, which `json` would otherwise emit and
most readers reject): a non-finite float is written as ``null`` and read back
as NaN, so a NaN SUC survives a round trip and still counts as "not ok".
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from nasvl.errors import NasvlError

T = TypeVar("T")

# Direction of every objective a result can be ranked on (used by `Strategy.pareto`).
MAXIMIZE = ("suc", "prec", "norm_prec")
MINIMIZE = ("params", "macs", "latency_ms", "wall_s")
# The one objectives setting: `search.objectives` in a config, handed to the strategy, the live
# table and `export --pareto`; this is its default.
DEFAULT_OBJECTIVES = ("suc",)


def objectives_problem(objectives: Sequence[str]) -> tuple[int | None, str] | None:
    """Why `objectives` cannot rank a search (the first is the score, maximised): the index of the
    entry at fault (None: the list as a whole) and the rule; None when they can."""
    for i, name in enumerate(objectives):
        if name not in MAXIMIZE + MINIMIZE:
            return i, f"unknown objective {name!r} (known: {', '.join(MAXIMIZE + MINIMIZE)})"
    if not objectives or objectives[0] not in MAXIMIZE:
        return (0 if objectives else None), (f"the first objective must be one of {', '.join(MAXIMIZE)}, "
                                             f"got {list(objectives)}")
    if len(set(objectives)) != len(objectives):
        return None, f"objectives repeat: {list(objectives)}"
    return None


def pareto_objectives(objectives: Sequence[str]) -> tuple[str, ...]:
    """What a Pareto set trades off: the search's objectives, or SUC against latency for a
    single-objective search."""
    return tuple(objectives) if len(objectives) > 1 else (*objectives, "latency_ms")


@dataclass(frozen=True)
class TrialResult:
    suc: float
    prec: float | None = None
    norm_prec: float | None = None
    params: int | None = None
    macs: int | None = None
    latency_ms: float | None = None
    wall_s: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Usable for ranking: no error and a finite SUC."""
        return self.error is None and isinstance(self.suc, int | float) and math.isfinite(self.suc)

    @classmethod
    def failed(cls, error: str, *, wall_s: float | None = None) -> TrialResult:
        return cls(suc=math.nan, wall_s=wall_s, error=error)

    def objective(self, name: str) -> float | None:
        """The value of objective `name` (see MAXIMIZE/MINIMIZE), None when unknown or non-finite."""
        if name not in MAXIMIZE + MINIMIZE:
            raise NasvlError(f"unknown objective {name!r} (known: {', '.join(MAXIMIZE + MINIMIZE)})")
        value = getattr(self, name)
        if value is None or not math.isfinite(value):
            return None
        return float(value)

    # ---- JSON ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialResult:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise NasvlError(f"unknown TrialResult keys {sorted(unknown)} (known: {', '.join(sorted(names))})")
        kwargs = dict(data)
        if kwargs.get("suc") is None:
            kwargs["suc"] = math.nan
        for key in ("params", "macs"):
            if kwargs.get(key) is not None:
                kwargs[key] = int(kwargs[key])
        return cls(**kwargs)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TrialResult:
        return cls.from_dict(json.loads(text))


def smaller_is_better(result: TrialResult, objectives: Sequence[str]) -> tuple[float, ...] | None:
    """`result`'s `objectives` as one vector in which every coordinate is minimised (maximised ones
    negated); None when any of them is unknown or non-finite."""
    values = [result.objective(o) for o in objectives]
    if any(v is None for v in values):
        return None
    return tuple(-v if o in MAXIMIZE else v for o, v in zip(objectives, values, strict=True))  # type: ignore[operator]


def pareto_front(items: Sequence[T], vector: Callable[[T], tuple[float, ...] | None]) -> list[T]:
    """The items no other item dominates, in their given order; `vector(item)` is smaller-is-better in
    every coordinate (`smaller_is_better`), and items without one are left out."""
    points = [(item, v) for item in items if (v := vector(item)) is not None]

    def dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
        return all(x <= y for x, y in zip(a, b, strict=True)) and a != b

    return [item for item, v in points if not any(dominates(w, v) for _, w in points)]
