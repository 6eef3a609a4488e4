"""Writing files safely: atomically, only inside the run folder, one run at a time, clean disk errors.

- `atomic_write`: a reader (or a crash, or a full disk) never sees a half-written file; the previous
  file stays intact and the temp file is removed.
- `contained` / `RunFolder`: every path a job writes is resolved (symlinks, `..`) and refused when it
  lands outside the run folder, so a hostile name or a planted symlink cannot write elsewhere.
- `RunFolder.lock`: an exclusive `flock` on `<run folder>/.lock`; the kernel drops it when the process
  dies, so a SIGKILLed run never blocks its own resume, but two live runs never share a folder.
- `disk_error`: turns ENOSPC, EFBIG, EROFS, EACCES... into one NasvlError naming the folder.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nasvl.errors import NasvlError

_WHY = {
    errno.ENOSPC: "no space left on the device holding {folder} (the disk is full)",
    errno.EDQUOT: "the disk quota of the device holding {folder} is exhausted",
    errno.EFBIG: "file too large: the file-size limit (ulimit -f) or the filesystem's maximum was reached "
                 "while writing in {folder}",
    errno.EROFS: "{folder} is on a read-only filesystem",
    errno.EACCES: "permission denied: {folder} is not writable",
    errno.EPERM: "operation not permitted in {folder}",
}


def disk_error(exc: OSError, path: str | Path | None = None, *, atomic: bool = False) -> NasvlError:
    """A clean NasvlError for an OSError met while writing `path` (or `exc.filename`)."""
    where = Path(path if path is not None else (exc.filename or "."))
    folder = where if where.is_dir() else where.parent
    why = _WHY.get(exc.errno or 0)
    if why is None:
        return NasvlError(f"{where}: {exc.strerror or exc}")
    kept = "; the previous file, if any, is kept" if atomic else ""
    return NasvlError(f"{where}: cannot write: {why.format(folder=folder)}{kept}")


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` then rename over `path`; the rename is atomic on POSIX."""
    path = Path(path)
    tmp_path: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        write(tmp_path)
        # mkstemp creates 0600; give the file the permissions a plain open() would (umask applies).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except OSError as exc:
        # torch.save and friends wrap the errno in RuntimeError sometimes; plain OSErrors are ours.
        raise disk_error(exc, path, atomic=True) from None
    finally:
        if tmp_path is not None:
            try:
                tmp_path.unlink(missing_ok=True)
            except OSError:
                pass  # a read-only or vanished folder: nothing of ours is left to remove
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def atomic_write_json(path: str | Path, obj: Any, sort_keys: bool = True) -> Path:
    """Pass sort_keys=False where mapping order carries meaning (e.g. a space's stages)."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=sort_keys) + "\n")


def contained(root: str | Path, path: str | Path) -> Path:
    """`path` (relative paths are taken from `root`) resolved; a NasvlError if it leaves `root`.

    Symlinks and `..` are resolved first, so `evaluate -> /etc` planted in a foreign run folder is
    caught like a name `../../x`.
    """
    base = Path(root).resolve()
    target = (base / path).resolve()
    if target != base and base not in target.parents:
        raise NasvlError(f"{path}: resolves to {ascii(str(target))[1:-1]}, outside the run folder {base}; "
                         "refusing to write there")
    return target


def writable_folder(folder: str | Path, what: str = "run folder") -> Path:
    """Create `folder` if needed; a clean NasvlError when it is a file or cannot be written."""
    p = Path(folder)
    if p.exists() and not p.is_dir():
        raise NasvlError(f"{p}: the {what} is a file, not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise disk_error(exc, p) from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise NasvlError(f"{p}: cannot write: the {what} is not writable (read-only or permission denied)")
    return p


class RunFolder:
    """The one folder a job writes into: `path()` refuses escapes, `lock()` refuses a second run."""

    LOCK = ".lock"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, *parts: str | Path) -> Path:
        return contained(self.root, Path(*parts)) if parts else self.root.resolve()

    @contextmanager
    def lock(self) -> Iterator[Path]:
        writable_folder(self.root)
        lock = self.root / self.LOCK
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise disk_error(exc, lock) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                raise NasvlError(f"{self.root}: another nasvl run (pid {holder}) is using this run folder "
                                 f"(it holds {lock}); wait for it to finish, or use another --runs folder"
                                 ) from None
            try:  # the pid only makes the message above friendlier; a full disk must not stop the run here
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError:
                pass
            yield lock
        finally:
            os.close(fd)  # closing drops the flock; the file stays (deleting it would race a waiter)
