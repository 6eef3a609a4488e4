"""Ray Train controller callbacks (imported only where Ray Train runs: it needs `ray.train`)."""

from __future__ import annotations

from typing import Any

from ray.train import UserCallback

from nasvl.cluster.errors import find_nasvl_error


class StopOnNasvlError(UserCallback):
    """End the run at a worker's nasvl error instead of restarting the worker group.

    Ray Train restarts the group after any worker error, up to `FailureConfig.max_failures`. That is
    right for a lost worker or node, but a nasvl error is about the user's input (an unreadable frame,
    a schedule that diverges, a bad checkpoint) and comes back on every restart, so restarting only
    repeats the training since the last checkpoint before the message shows. Raising here, on the
    controller, fails the run at once: Ray Train never retries an error of its controller.
    """

    def after_exception(self, run_context: Any, worker_exceptions: dict[int, Exception]) -> None:
        for rank in sorted(worker_exceptions):
            found = find_nasvl_error(worker_exceptions[rank])
            if found is not None:
                raise found
