"""Error types that carry enough context to be actionable from the terminal.

Every user-facing error names the file, line and YAML path it refers to and the
rule that was broken, e.g.::

    vlt_scar.yaml:14: branches.search.backbone.stage3: unknown op 'shufle5' (known: shuffle3, ...)
"""

from __future__ import annotations

from collections.abc import Iterable


class NasvlError(Exception):
    """Base class for every error nasvl raises on purpose."""


class ConfigError(NasvlError, ValueError):
    """A configuration (space, job, tracker, training) broke a rule."""

    def __init__(self, rule: str, *, file: str | None = None, line: int | None = None, path: str = "") -> None:
        self.rule = rule
        self.file = file
        self.line = line
        self.path = path
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        what = f"{self.path}: " if self.path else ""
        return f"{where}{what}{self.rule}"


class DataError(NasvlError, ValueError):
    """A dataset file is malformed (raised in strict mode; a warning in lenient mode)."""

    def __init__(self, rule: str, *, file: str | None = None, line: int | None = None) -> None:
        self.rule, self.file, self.line = rule, file, line
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{rule}")


class CheckpointError(NasvlError):
    """A checkpoint or export is missing, corrupt, or belongs to another space."""


def known(names: Iterable[str]) -> str:
    """Format a set of valid values for an error message: '(known: a, b, c)'."""
    return "(known: " + ", ".join(sorted(names)) + ")"
