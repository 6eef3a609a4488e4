"""The one rule for relative paths, applied on the driver before anything is shipped to Ray.

A relative path written in a YAML file (space files, data roots, exports, caches) names:

1. the path under the working directory `nasvl` was started in, when something exists there;
2. else the path under the folder of the YAML file, when something exists there;
3. else (an output not written yet) the path under the working directory.

A path given on the command line (`--runs`, `--out`, a checkpoint) is taken from the working
directory. Every path leaves the loaders absolute: a Ray task, actor or Train worker runs in its
own working directory on another host, so it must never resolve a path itself.
"""

from __future__ import annotations

from pathlib import Path


def resolve_path(path: str | Path, source: str | Path | None = None) -> Path:
    """`path` made absolute by the rule above; `source` is the YAML file it was written in.

    `source` should be the file's real path (a base name only works from the file's own folder).
    """
    p = Path(path).expanduser()
    if p.is_absolute():
        return Path(_normal(p))
    here = Path.cwd() / p
    if here.exists() or source is None:
        return Path(_normal(here))
    beside = Path(source).expanduser().absolute().parent / p
    return Path(_normal(beside if beside.exists() else here))


def resolve_str(path: str | None, source: str | Path | None = None) -> str | None:
    """`resolve_path` for optional string fields of frozen configs."""
    return None if path is None else str(resolve_path(path, source))


def cli_path(path: str | Path) -> Path:
    """A command-line path: from the working directory, absolute."""
    return Path(_normal(Path(path).expanduser().absolute()))


def _normal(p: Path) -> str:
    # Resolve symlinks where the path exists (so two spellings of one folder compare equal);
    # a path not written yet keeps its spelling, made absolute.
    try:
        return str(p.resolve())
    except OSError:
        return str(p.absolute())
