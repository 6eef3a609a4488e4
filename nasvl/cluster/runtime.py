"""Joining Ray: one policy for training and search, Ray's token authentication, no orphans.

Policy: a private local runtime ("local") unless `--address` or `RAY_ADDRESS` (set by
`ray job submit`) names a cluster. A bare `ray.init()` would instead join whatever cluster a
`ray start` left on this machine, so nasvl never calls it.

Authentication (Ray 2.60): `RAY_AUTH_MODE=token` makes every Ray process (`ray start`, drivers,
workers) present a shared token, read from `RAY_AUTH_TOKEN`, else the file `RAY_AUTH_TOKEN_PATH`,
else `~/.ray/auth_token`. A new local runtime turns token mode on by itself and, when no token
exists, writes `~/.ray/auth_token`; a later `ray start --head` then finds that file and turns token
mode on for the whole cluster. nasvl's local runtime therefore uses a token that lives only in this
process's environment when none exists, so it leaves nothing in `~/.ray`.

A local runtime is watched by a small process (`nasvl.cluster.reaper`) that kills what the
runtime started if the driver dies without shutting it down (SIGKILL, OOM): Ray's own fate
sharing misses the agents the raylet starts.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from nasvl.errors import NasvlError

# Environment every Ray worker of a nasvl run gets: the language model is read from disk, never fetched.
WORKER_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
AUTH_DOC = "https://docs.ray.io/en/latest/ray-security/token-auth.html"


def ray_address(address: str | None) -> str:
    """The address nasvl joins: --address, else RAY_ADDRESS, else a private local runtime."""
    return address or os.environ.get("RAY_ADDRESS") or "local"


def is_local(address: str | None) -> bool:
    return ray_address(address) == "local"


def token_available() -> bool:
    """Whether this process can present a Ray auth token (Ray's own search order)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return Path(path).expanduser().is_file() if path else (Path.home() / ".ray" / "auth_token").is_file()


def _private_token() -> None:
    """Token mode for a local runtime without writing ~/.ray/auth_token (see the module doc)."""
    if os.environ.get("RAY_AUTH_MODE") is not None or token_available():
        return
    try:  # Ray's own switch: sets RAY_AUTH_MODE=token and refreshes the config it cached on import
        from ray._private.authentication.authentication_token_setup import _enable_token_auth
        from ray._raylet import AuthenticationTokenLoader
    except ImportError:  # a Ray without token authentication: nothing to keep out of ~/.ray
        return
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)  # inherited by the runtime's processes only
    _enable_token_auth()
    AuthenticationTokenLoader.instance().reset_cache()


def auth_help(target: str) -> str:
    return (f"the Ray cluster at {target} refused this driver's authentication token (missing or wrong). "
            "With token authentication every `ray start` and every driver needs RAY_AUTH_MODE=token and the "
            "cluster's token: print it on the head with `ray get-auth-token`, then on this machine put it in "
            "~/.ray/auth_token or set RAY_AUTH_TOKEN=<token> (or RAY_AUTH_TOKEN_PATH=<file>), and export "
            f"RAY_AUTH_MODE=token; a cluster started with RAY_AUTH_MODE=disabled needs neither ({AUTH_DOC})")


def init_ray(address: str | None = None) -> str:
    """Start or join Ray once per process by the policy above; returns the address joined ("local")."""
    import ray

    target = ray_address(address)
    if ray.is_initialized():
        return target
    local = target == "local"
    if local:
        _private_token()
    elif os.environ.get("RAY_AUTH_MODE") is None and token_available() and target != "auto":
        # Ray sends a token to an explicit address only when told to; say so instead of failing later.
        print(f"note: a Ray auth token is on this machine but RAY_AUTH_MODE is unset, so none is sent to {target};"
              " export RAY_AUTH_MODE=token if the cluster uses token authentication", file=sys.stderr)
    try:
        ray.init(address=target, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": dict(WORKER_ENV)})
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, AuthenticationError, ValueError
        raise _init_error(exc, target) from None
    if local:
        _watch_local_runtime()
    return target


def _init_error(exc: Exception, target: str) -> NasvlError:
    text = str(exc)
    if type(exc).__name__ == "AuthenticationError" or "authenticat" in text.lower() or "UNAUTHENTICATED" in text:
        return NasvlError(auth_help(target))
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return NasvlError(f"cannot join the Ray cluster at {target}: {first[:400]} (start it with `ray start --head`"
                      " and pass its HOST:PORT to --address, or drop --address/RAY_ADDRESS for a local runtime)")


def _watch_local_runtime() -> None:
    """Start the reaper for this driver's local runtime (Linux: it reads /proc)."""
    if not sys.platform.startswith("linux"):
        return
    read_end, write_end = os.pipe()
    os.set_inheritable(read_end, True)
    from nasvl.cluster import reaper  # run by its file: it needs the standard library only, not sys.path

    subprocess.Popen([sys.executable, reaper.__file__, str(os.getpid()), str(read_end)],
                     pass_fds=(read_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    os.close(read_end)
    # The write end stays open in this process only (never inherited): the reaper reads EOF exactly
    # when the driver is gone, however it died.
    os.set_inheritable(write_end, False)
    _KEEP.append(write_end)


_KEEP: list[int] = []
