"""One way to throw a hostile input at the real `nasvl` command and judge what came back.

Every adversarial case runs the CLI in its own process (so a hang, a memory blow-up or a crash
cannot take the test session with it) and checks the same contract:

- a nonzero exit;
- one message that names the file and the field or line, and the rule;
- no Python traceback;
- bounded wall time (a hang is killed at `timeout`) and bounded peak memory (`os.wait4` rusage);
- nothing written outside the run folder, nothing already there lost, no payload marker file.

The time bound only catches hangs: it is generous enough for a machine loaded three times over.
"""

from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANG_S = 120.0  # a validation that takes this long is a hang, not a slow machine
PEAK_RSS_MB = 1500.0  # the CLI with torch imported sits near 400 MB; a blow-up goes far past this


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float
    timed_out: bool
    # Linux carries the forking process's peak RSS into the child's ru_maxrss at exec, so a child
    # of a test process that has grown reads at least this much whatever it did itself.
    inherited_rss_mb: float = 0.0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def nasvl_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(
        os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1"
    )
    env.pop("RAY_ADDRESS", None)
    # Worktrees and CI clones run their own sources, not whatever an editable install points at.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


class _Wait4Popen(subprocess.Popen):
    """Popen that reaps with os.wait4, keeping the child's own peak RSS (ru_maxrss, KiB on Linux)."""

    peak_rss_mb = 0.0

    def _try_wait(self, wait_flags):  # type: ignore[override]
        try:
            pid, sts, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            pid, sts = self.pid, 0
        else:
            if pid == self.pid:
                self.peak_rss_mb = usage.ru_maxrss / 1024.0
        return pid, sts


def run_nasvl(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    timeout: float = HANG_S,
    env: dict[str, str] | None = None,
    preexec=None,
) -> Outcome:
    """Run `python -m nasvl.cli ARGS` in `cwd`; kill it (and its process group) after `timeout`."""
    started = time.monotonic()
    inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    proc = _Wait4Popen(
        [sys.executable, "-m", "nasvl.cli", *map(str, args)],
        cwd=cwd,
        env=nasvl_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=preexec,
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    seconds = time.monotonic() - started
    return Outcome(
        proc.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
        seconds,
        proc.peak_rss_mb,
        timed_out,
        inherited,
    )


def snapshot(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder` (relative path → digest): proof that nothing was lost."""
    out: dict[str, str] = {}
    if not folder.exists():
        return out
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def assert_refused(outcome: Outcome, *, mentions: Iterable[str] = (), code: int | None = None) -> None:
    """Nonzero exit, no traceback, bounded time and memory, and a message holding every fragment."""
    text = outcome.output
    assert not outcome.timed_out, f"hung for {outcome.seconds:.0f}s:\n{text[-2000:]}"
    assert outcome.code != 0, f"accepted (exit 0):\n{text[-2000:]}"
    if code is not None:
        assert outcome.code == code, f"exit {outcome.code}, expected {code}:\n{text[-2000:]}"
    assert "Traceback (most recent call last)" not in text, f"traceback instead of an error:\n{text[-4000:]}"
    # Over the bound only counts when it is the child's own: above what it inherited from the test process.
    bound = max(PEAK_RSS_MB, outcome.inherited_rss_mb + 64)
    assert outcome.peak_rss_mb < bound, f"peak RSS {outcome.peak_rss_mb:.0f} MB (bound {bound:.0f}):\n{text[-1000:]}"
    for fragment in mentions:
        assert fragment in outcome.stderr, f"message lacks {fragment!r}:\n{outcome.stderr[-2000:]}"


def assert_contained(sandbox: Path, run_folder: Path, before: dict[str, str], *,
                     run_may_change: bool = False) -> None:
    """Nothing outside `run_folder` (inside `sandbox`) changed, and nothing in `before` was lost or changed.

    `before` is a `snapshot(sandbox)` taken before the case ran; new files may appear only under
    `run_folder`; a file named `PWNED` anywhere means a payload ran. `run_may_change` is for a
    command that legitimately continues the run (a resume): then only the outside is checked.
    """
    after = snapshot(sandbox)
    inside = str(run_folder.relative_to(sandbox)) if run_folder != sandbox else ""
    for rel, digest in before.items():
        if run_may_change and inside and rel.startswith(inside + os.sep):
            continue
        assert after.get(rel) == digest, f"{rel} was lost or changed"
    for rel in after:
        if rel not in before:
            assert inside == "" or rel == inside or rel.startswith(inside + os.sep), f"wrote outside: {rel}"
    assert not [p for p in sandbox.rglob("PWNED")], "a payload ran"
    assert not Path("/tmp/PWNED").exists(), "a payload ran"
