"""Errors raised inside Ray tasks, actors and Train workers, handed back as the nasvl error they were.

Ray wraps a worker's exception (`RayTaskError`, `RayActorError`, Ray Train's `WorkerGroupError`
and `ControllerError`, Tune's `TuneError`) and prints the worker's traceback. A `NasvlError`
raised there is a located message ("space.yaml:3: ...") that must reach the user the way it does
in a local run: `raise_worker_error` finds it among the wrapper's causes and raises it alone.
"""

from __future__ import annotations

from typing import Any

from nasvl.errors import NasvlError

_CAUSES = ("cause", "controller_failure", "__cause__", "__context__")


def find_nasvl_error(exc: BaseException) -> NasvlError | None:
    """The first NasvlError inside Ray's wrappers of `exc` (breadth-first), or None."""
    todo: list[Any] = [exc]
    seen: set[int] = set()
    while todo:
        item = todo.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, NasvlError):
            return _plain(item)
        failures = getattr(item, "worker_failures", None)
        if isinstance(failures, dict):
            todo.extend(failures[k] for k in sorted(failures))
        todo.extend(getattr(item, name, None) for name in _CAUSES)
    return None


def _plain(exc: NasvlError) -> NasvlError:
    """`RayTaskError.as_instanceof_cause` builds a subclass of both; give back the user's class itself."""
    if type(exc).__module__.startswith("nasvl"):
        return exc
    for cls in type(exc).__mro__:
        if issubclass(cls, NasvlError) and cls.__module__.startswith("nasvl"):
            try:
                return cls(*exc.args)
            except TypeError:
                return NasvlError(*exc.args)
    return NasvlError(str(exc))


def raise_worker_error(exc: BaseException, what: str) -> None:
    """Re-raise the nasvl error inside `exc` without Ray's traceback; otherwise one line about `what`."""
    found = find_nasvl_error(exc)
    if found is not None:
        raise found from None
    # Ray's message ends with the worker's own "Type: message" line; the traceback above it stays in Ray's logs.
    last = next((line.strip() for line in reversed(str(exc).splitlines()) if line.strip()), type(exc).__name__)
    raise NasvlError(f"{what} failed on a Ray worker: {last[:500]}") from exc
