"""`python -m nasvl.cluster.reaper DRIVER_PID FD`: kill a dead driver's local Ray runtime.

Ray ties the GCS and raylet to the driver (the kernel's parent-death signal), but the agents the
raylet starts (`ray::DashboardAgent`, `ray::RuntimeEnvAgent`) are reparented to init and live on
when the driver is SIGKILLed. This process, started by `init_ray` for a local runtime, keeps a
snapshot of the driver's descendants and, when the pipe FD reaches EOF (the driver is gone, however
it died), kills those that are still the same processes (same pid and start time). It imports
nothing but the standard library and reads /proc (Linux).
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

POLL_S = 1.0


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of `pid`, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """pid -> start time of every process below `root`."""
    children: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                children.setdefault(st[0], []).append(int(name))
                starts[int(name)] = st[1]
    out: dict[int, int] = {}
    todo = list(children.get(root, ()))
    while todo:
        pid = todo.pop()
        if pid not in out and pid in starts and pid != os.getpid():
            out[pid] = starts[pid]
            todo.extend(children.get(pid, ()))
    return out


def watch(driver: int, fd: int) -> int:
    seen: dict[int, int] = {}
    while True:
        ready, _, _ = select.select([fd], [], [], POLL_S)
        if ready and not os.read(fd, 4096):
            break
        # Keep what was seen and still runs (agents outlive their raylet), plus what runs now.
        seen = {p: s for p, s in seen.items() if (_stat(p) or (0, -1))[1] == s}
        seen.update(descendants(driver))
    time.sleep(POLL_S)  # a driver exiting normally shuts its runtime down itself; let it
    for pid, start in seen.items():
        st = _stat(pid)
        if st is not None and st[1] == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the terminal is for the driver
    sys.exit(watch(int(sys.argv[1]), int(sys.argv[2])))
