"""Names that become folder names (job, step, dataset, space, trial) are plain names.

A job called `../../x` or `/abs/path` would otherwise write outside the run folder, and a name
holding U+202E (right-to-left override) or NUL would be echoed to a terminal as something else.
So a name is `[A-Za-z0-9_.-]+`, at most 128 characters, not `.`/`..`, not starting with `-` or `.`.
Messages quote a rejected name with `ascii()`, so the terminal shows escapes, never the characters.
"""

from __future__ import annotations

import re

from nasvl.errors import ConfigError

NAME_RULE = "a plain name: letters, digits, '_', '.', '-' (at most 128, not starting with '.' or '-')"
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def is_plain_name(value: object) -> bool:
    return isinstance(value, str) and _PLAIN.fullmatch(value) is not None


def check_name(value: object, *, what: str = "name", file: str | None = None, line: int | None = None,
               path: str = "") -> str:
    """Return `value` when it is a plain name, else raise a located ConfigError that shows it escaped."""
    if not is_plain_name(value):
        raise ConfigError(f"{what} {ascii(value)} is not {NAME_RULE}", file=file, line=line, path=path)
    return value  # type: ignore[return-value]
