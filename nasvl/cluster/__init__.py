"""Ray clusters: joining one (`init_ray`), checking every node (`preflight`), and errors from workers."""

from __future__ import annotations

from nasvl.cluster.errors import raise_worker_error
from nasvl.cluster.runtime import init_ray, is_local, ray_address

__all__ = ["init_ray", "is_local", "ray_address", "raise_worker_error"]
