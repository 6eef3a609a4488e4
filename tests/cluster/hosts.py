"""Emulated hosts on one machine: a network namespace and a PID namespace each, joined by a bridge.

Each `Host` has its own address (10.213.0.N/24, inside the namespaces only), HOME, working
directory, TMPDIR/RAY_TMPDIR and PID namespace; the filesystem is shared, as an NFS mount would be.
The bridge lives in a namespace of its own, so nothing of the machine's own network is touched.
A host's PID namespace is held by a `sleep` that is its PID 1: killing that process kills every
process of the host at once, which is what a node failure looks like to Ray.

Needs root, `ip` and `unshare`/`nsenter` (util-linux); `Cluster.create` raises `HostsUnavailable`
with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

SUBNET = "10.213.0"
RAY = str(Path(sys.executable).with_name("ray"))
OBJECT_STORE = 300 * 1024 * 1024  # per host; the default (30% of RAM each) is absurd for three on one machine


def job_server_available() -> bool:
    """`ray job submit` needs the dashboard's job server: ray[default] (aiohttp and friends)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("aiohttp", "aiohttp_cors", "prometheus_client"))


class HostsUnavailable(RuntimeError):
    """Namespaces cannot be made here (not root, no `ip`, no unshare): the tests skip with this."""


def _sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise HostsUnavailable(f"`{' '.join(cmd)}` failed: {done.stderr.strip() or done.stdout.strip()}")
    return done


@dataclass
class Host:
    name: str
    netns: str
    ip: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    keeper: subprocess.Popen | None = None
    init_pid: int = 0        # the host's PID 1, seen from the machine

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def boot(self, base_env: dict[str, str]) -> None:
        for d in (self.home, self.work, self.tmp):
            d.mkdir(parents=True, exist_ok=True)
        self.env = {**base_env, "HOME": str(self.home), "TMPDIR": str(self.tmp), "RAY_TMPDIR": str(self.tmp)}
        # Its own host name, resolving to its own address (`ip netns exec` mounts /etc/netns/NS/hosts
        # over /etc/hosts): gloo and Ray find a node's address from its name, as on real machines.
        etc = Path("/etc/netns") / self.netns
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "hosts").write_text(f"127.0.0.1 localhost\n{self.ip} {self.name}\n")
        self.keeper = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "unshare", "--pid", "--fork", "--mount-proc", "--uts", "--kill-child",
             "sh", "-c", f"hostname {self.name} && exec sleep infinity"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not self.init_pid:
            self.init_pid = _sleeping_child(self.keeper.pid)
            time.sleep(0.05)
        if not self.init_pid:
            err = self.keeper.stderr.read().decode() if self.keeper.poll() is not None else "timed out"  # type: ignore[union-attr]
            raise HostsUnavailable(f"cannot make a PID namespace for {self.name}: {err.strip()}")

    def command(self, args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> list[str]:
        """`args` run inside this host: its network, PID and mount namespaces, environment and cwd."""
        full_env = {**self.env, **(env or {})}
        return ["nsenter", "-t", str(self.init_pid), "-n", "-p", "-m", "-u", "--wd=" + str(cwd or self.work), "env", "-i",
                *(f"{k}={v}" for k, v in full_env.items()), *args]

    def run(self, args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(self.command(args, env, cwd), capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"on {self.name}: {' '.join(args)} exited {done.returncode}\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
        return done

    def popen(self, args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              **kwargs) -> subprocess.Popen:
        return subprocess.Popen(self.command(args, env, cwd), start_new_session=True, **kwargs)

    def pids(self) -> list[int]:
        """Processes still running in this host (seen from the machine)."""
        done = _sh("ip", "netns", "pids", self.netns, check=False)
        return [int(p) for p in done.stdout.split()]

    def power_off(self) -> None:
        """Kill every process of the host at once (its PID 1 takes the namespace down)."""
        if self.init_pid:
            try:
                os.kill(self.init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.keeper is not None:
            try:
                self.keeper.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.keeper.kill()
        self.init_pid = 0


def descendants(pid: int) -> Iterator[int]:
    """Every process below `pid`, parents before children, by walking /proc."""
    todo = [pid]
    while todo:
        parent = todo.pop()
        try:
            kids = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        except OSError:
            continue
        for k in map(int, kids):
            yield k
            todo.append(k)


def _sleeping_child(pid: int) -> int:
    """The `sleep infinity` below `unshare` (the host's PID 1)."""
    for k in descendants(pid):
        try:
            if Path(f"/proc/{k}/comm").read_text().strip() == "sleep":
                return k
        except OSError:
            continue
    return 0


class Cluster:
    """`n` hosts on one bridge; `hosts[0]` is the head. Use as a context manager."""

    def __init__(self, n: int = 3, *, base_env: dict[str, str] | None = None) -> None:
        self.tag = uuid.uuid4().hex[:5]
        # Short root: Ray's Unix socket paths under the temp dir must stay under 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix=f"nc{self.tag}", dir="/tmp"))
        self.switch = f"nasvl-{self.tag}-sw"
        self.hosts = [Host(f"host{i}", f"nasvl-{self.tag}-h{i}", f"{SUBNET}.{i + 1}", self.root / f"h{i}")
                      for i in range(n)]
        self.base_env = base_env or {}
        self.ray_port = 6379

    @property
    def head(self) -> Host:
        return self.hosts[0]

    @property
    def address(self) -> str:
        return f"{self.head.ip}:{self.ray_port}"

    @property
    def dashboard(self) -> str:
        return f"http://{self.head.ip}:8265"

    def create(self) -> Cluster:
        if os.geteuid() != 0:
            raise HostsUnavailable("network namespaces need root")
        for tool in ("ip", "unshare", "nsenter"):
            if shutil.which(tool) is None:
                raise HostsUnavailable(f"`{tool}` is not installed")
        try:
            _sh("ip", "netns", "add", self.switch)
            _sh("ip", "netns", "exec", self.switch, "ip", "link", "add", "br0", "type", "bridge")
            _sh("ip", "netns", "exec", self.switch, "ip", "link", "set", "br0", "up")
            for i, host in enumerate(self.hosts):
                a, b = f"n{self.tag}{i}a", f"n{self.tag}{i}b"   # interface names: at most 15 characters
                _sh("ip", "netns", "add", host.netns)
                _sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
                _sh("ip", "link", "set", a, "netns", host.netns)
                _sh("ip", "link", "set", b, "netns", self.switch)
                _sh("ip", "netns", "exec", self.switch, "ip", "link", "set", b, "master", "br0", "up")
                for args in (["ip", "addr", "add", f"{host.ip}/24", "dev", a], ["ip", "link", "set", a, "up"],
                             ["ip", "link", "set", "lo", "up"]):
                    _sh("ip", "netns", "exec", host.netns, *args)
                host.boot(self.base_env)
        except Exception:
            self.destroy()
            raise
        return self

    def start_ray(self, worker_cpus: int = 1, head_cpus: int = 0) -> None:
        """`ray start` on every host, as the README says: the head first, then the others."""
        # The dashboard carries Ray's job server (`ray job submit`); it needs ray[default].
        dashboard = (["--include-dashboard=true", f"--dashboard-host={self.head.ip}", "--dashboard-port=8265"]
                     if job_server_available() else ["--include-dashboard=false"])
        self.head.run([RAY, "start", "--head", f"--node-ip-address={self.head.ip}", f"--port={self.ray_port}",
                       f"--num-cpus={head_cpus}", f"--object-store-memory={OBJECT_STORE}", "--disable-usage-stats",
                       *dashboard], timeout=240)
        for host in self.hosts[1:]:
            self.start_worker(host, worker_cpus)

    def start_worker(self, host: Host, cpus: int = 1) -> None:
        host.run([RAY, "start", f"--address={self.address}", f"--node-ip-address={host.ip}", f"--num-cpus={cpus}",
                  f"--object-store-memory={OBJECT_STORE}", "--disable-usage-stats"], timeout=240)

    def restart_host(self, host: Host, cpus: int = 1) -> None:
        """A failed host comes back: a fresh PID namespace, same address, Ray started again."""
        host.power_off()
        host.boot(self.base_env)
        self.start_worker(host, cpus)

    def destroy(self) -> None:
        for host in self.hosts:
            host.power_off()
            for pid in host.pids():  # anything that got in without the PID namespace
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _sh("ip", "netns", "del", host.netns, check=False)
            shutil.rmtree(Path("/etc/netns") / host.netns, ignore_errors=True)
        _sh("ip", "netns", "del", self.switch, check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.destroy()
