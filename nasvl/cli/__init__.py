"""The `nasvl` command line.

Each module in this package that defines `register(subparsers)` contributes its
sub-commands, so a feature adds its CLI in its own file without editing a
central list. Handlers return an exit code; `NasvlError`s become one clean line
on stderr instead of a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
import sys

from nasvl.errors import NasvlError
from nasvl.io import disk_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nasvl", description="NAS for vision-language Siamese trackers")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    # A file-size limit (ulimit -f) kills with SIGXFSZ unless ignored; ignored, the write fails with
    # EFBIG and becomes the clean error below, and atomic writes keep the previous file.
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except NasvlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a size limit, a read-only folder, met outside atomic_write
        # An error raised in a worker process has lost its filename: name the command's output instead.
        where = exc.filename or next((getattr(args, k) for k in ("out", "runs") if getattr(args, k, None)), None)
        print(f"error: {disk_error(exc, where)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
