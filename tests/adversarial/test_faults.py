"""Faults of the machine, not of the input: a full disk, a file-size limit, a read-only run folder,
a kill in the middle of an atomic write, and a second `nasvl run` on a folder already in use.

Each case asserts a clean refusal (one `error:` line naming the folder, exit 2, no traceback), that
nothing written earlier was lost, and that nothing was marked complete. Waits are on events (a line
on a pipe), never on time. The tiny filesystems are tmpfs mounts, so those cases need root; they are
skipped, with the reason, where mounting is not allowed.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adversarial.harness import assert_contained, assert_refused, nasvl_env, run_nasvl, snapshot
from tests.adversarial.test_jobs import BASE


def _mount(folder: Path, options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode(errors='replace').strip() or 'not root'})")


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB filesystem: a synthetic benchmark or a checkpoint fills it."""
    folder = tmp_path / "tiny"
    _mount(folder, "size=256k")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def read_only_fs(tmp_path: Path) -> Iterator[Path]:
    """A filesystem holding an earlier run's file, then remounted read-only (root ignores chmod)."""
    folder = tmp_path / "ro"
    _mount(folder, "size=1m")
    (folder / "runs" / "mini" / "data").mkdir(parents=True)
    (folder / "runs" / "mini" / "data" / "earlier.json").write_text('{"kept": true}\n')
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def _job(tmp_path: Path) -> Path:
    job = tmp_path / "job.yaml"
    job.write_text(BASE, encoding="utf-8")
    return job


def _python(code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], env=nasvl_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_full_disk_during_a_job(tmp_path: Path, tiny_fs: Path) -> None:
    runs = tiny_fs / "runs"
    (runs / "other").mkdir(parents=True)
    (runs / "other" / "keep.json").write_text('{"earlier": 1}\n')
    job = _job(tmp_path)
    before = snapshot(tmp_path)
    out = run_nasvl(["run", job, "--runs", runs], cwd=tmp_path)
    assert_refused(out, mentions=[str(runs / "mini" / "data"), "no space left", "disk is full"], code=2)
    assert_contained(tmp_path, runs, before)
    assert not list(runs.rglob("DONE.json")), "a step was marked complete on a full disk"


def test_full_disk_during_an_atomic_write_keeps_the_previous_file(tmp_path: Path, tiny_fs: Path) -> None:
    target = tiny_fs / "search.json"
    target.write_text('{"previous": true}\n')
    writer = _python("import sys\nfrom nasvl.io import atomic_write_json\n"
                     "atomic_write_json(sys.argv[1], {'big': 'x' * 1_000_000})\n", str(target))
    _, err = writer.communicate(timeout=120)
    text = err.decode()
    assert writer.returncode != 0 and "NasvlError" in text and "disk is full" in text and str(tiny_fs) in text
    assert target.read_text() == '{"previous": true}\n'
    assert sorted(p.name for p in tiny_fs.iterdir()) == ["search.json"], "the temp file was left behind"


def test_file_size_limit_during_data_synth(tmp_path: Path) -> None:
    (tmp_path / "earlier.txt").write_text("earlier\n")
    before = snapshot(tmp_path)

    def limit() -> None:  # 4 KiB a file: the first JPEG frame is over it
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    out_dir = tmp_path / "synth"
    out = run_nasvl(["data", "synth", "--out", out_dir, "--videos", "3"], cwd=tmp_path, preexec=limit)
    assert out.code != -signal.SIGXFSZ, "killed by SIGXFSZ instead of reporting EFBIG"
    assert_refused(out, mentions=[str(out_dir), "file too large", "ulimit -f"], code=2)
    assert_contained(tmp_path, out_dir, before)
    assert not (out_dir / "manifest.json").exists(), "a half-written benchmark was marked complete"


def test_read_only_run_folder(tmp_path: Path, read_only_fs: Path) -> None:
    runs = read_only_fs / "runs"
    job = _job(tmp_path)
    before = snapshot(tmp_path)
    out = run_nasvl(["run", job, "--runs", runs], cwd=tmp_path)
    assert_refused(out, mentions=[str(runs), "not writable"], code=2)
    out = run_nasvl(["data", "synth", "--out", read_only_fs / "synth", "--videos", "3"], cwd=tmp_path)
    assert_refused(out, mentions=[str(read_only_fs / "synth"), "read-only"], code=2)
    assert_contained(tmp_path, runs, before)  # the earlier file is still there, nothing was added


def test_kill_during_an_atomic_write(tmp_path: Path) -> None:
    target = tmp_path / "DONE.json"
    target.write_text('{"previous": true}\n')
    # The writer puts half its content in the temp file, says so on stdout, then blocks on stdin
    # (never written) until it is killed: the kill lands mid-write, counted by that event, not a delay.
    writer = _python(
        "import os, sys\nfrom nasvl.io import atomic_write\n"
        "def write(p):\n"
        "    p.write_text('{\"half\": ')\n"
        "    os.write(1, b'ready\\n')\n"
        "    os.read(0, 1)\n"
        "atomic_write(sys.argv[1], write)\n", str(target))
    assert writer.stdout.readline() == b"ready\n", writer.stderr.read().decode()
    os.killpg(writer.pid, signal.SIGKILL)
    writer.wait()
    assert writer.returncode == -signal.SIGKILL
    assert target.read_text() == '{"previous": true}\n'
    visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert visible == ["DONE.json"], visible  # the half file is a hidden temp, never the target


HOLD = ("import sys\nfrom nasvl.io import RunFolder\n"
        "with RunFolder(sys.argv[1]).lock():\n"
        "    print('locked', flush=True)\n"
        "    sys.stdin.read(1)\n")


def test_second_run_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    run_dir = runs / "mini"
    (run_dir / "data").mkdir(parents=True)
    (run_dir / "data" / "earlier.json").write_text('{"kept": true}\n')
    job = _job(tmp_path)
    # The first run holds the folder's lock exactly as `nasvl run` does; we wait for it to say so.
    first = _python(HOLD, str(run_dir))
    try:
        assert first.stdout.readline() == b"locked\n", first.stderr.read().decode()
        before = snapshot(tmp_path)
        out = run_nasvl(["run", job, "--runs", runs, "--resume"], cwd=tmp_path)
        assert_refused(out, mentions=[str(run_dir), "another nasvl run", f"pid {first.pid}", ".lock"], code=2)
        assert snapshot(tmp_path) == before, "the refused run changed the folder"
        assert not list(runs.rglob("DONE.json"))
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    # A SIGKILLed run leaves its lock file behind but not the lock: a resume is not blocked by it.
    again = _python(HOLD, str(run_dir))
    try:
        assert again.stdout.readline() == b"locked\n", again.stderr.read().decode()
    finally:
        os.killpg(again.pid, signal.SIGKILL)
        again.wait()
