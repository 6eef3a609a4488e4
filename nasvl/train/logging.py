"""Training progress: a rich progress bar, a JSONL scalar log, and TensorBoard when installed."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class TrainLogger:
    def __init__(self, out_dir: Path, total_steps: int, pairs_per_step: int, *, enabled: bool = True,
                 start_step: int = 0, every: int = 1) -> None:
        self.enabled = enabled
        self.pairs_per_step = pairs_per_step
        self.every = every
        self._t0 = time.perf_counter()
        self._first_step = start_step
        self._jsonl = None
        self._tb = None
        self._progress: Progress | None = None
        if not enabled:
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        # Append: a resumed run continues the same log.
        self._jsonl = open(out_dir / "log.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(out_dir / "tensorboard"))
        except Exception:  # tensorboard is optional
            self._tb = None
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[losses]}"), TextColumn("{task.fields[rate]} pairs/s"),
            TimeRemainingColumn(), transient=False,
        )
        self._task = self._progress.add_task("train", total=total_steps, completed=start_step, losses="", rate="-")
        self._progress.start()

    def log(self, step: int, losses: dict[str, float], lr: float) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self._t0
        rate = (step - self._first_step) * self.pairs_per_step / max(elapsed, 1e-9)
        record = {"step": step, "lr": lr, "pairs_per_s": rate, "time": time.time(), **losses}
        self._jsonl.write(json.dumps(record) + "\n")  # type: ignore[union-attr]
        self._jsonl.flush()  # type: ignore[union-attr]
        if self._tb is not None:
            for key, value in losses.items():
                self._tb.add_scalar(f"loss/{key}", value, step)
            self._tb.add_scalar("lr", lr, step)
        parts = " ".join(f"{k}={v:.3f}" for k, v in losses.items())
        self._progress.update(self._task, completed=step, losses=parts, rate=f"{rate:.1f}")  # type: ignore[union-attr]

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        if self._jsonl is not None:
            self._jsonl.close()
        if self._tb is not None:
            self._tb.close()
