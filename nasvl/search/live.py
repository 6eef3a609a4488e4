"""A live rich table of a running search (a Ray Tune callback in the driver)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from ray.tune import Callback
from rich.live import Live
from rich.table import Table

from nasvl.search.result import pareto_front


class LiveTable(Callback):
    def __init__(self, objectives: Sequence[str] = ("suc",), enabled: bool = True) -> None:
        self.objectives = tuple(objectives)
        self.enabled = enabled
        self._live: Live | None = None
        self._start = time.perf_counter()
        self.done = 0
        self.failed = 0
        self.best: tuple[str, float] | None = None
        self.points: list[tuple[str, float, float]] = []

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment; the terminal display is not state.
        return {k: v for k, v in self.__dict__.items() if k != "_live"} | {"_live": None}

    def _render(self) -> Table:
        minutes = max((time.perf_counter() - self._start) / 60, 1e-9)
        table = Table(title="nasvl search")
        table.add_column("trials done")
        table.add_column("failed")
        table.add_column("evals/min")
        table.add_column("best SUC")
        best = f"{self.best[1]:.4f} ({self.best[0]})" if self.best else "-"
        table.add_row(str(self.done), str(self.failed), f"{self.done / minutes:.2f}", best)
        if len(self.objectives) > 1 and self.points:
            table.add_section()
            by_suc = sorted(self.points, key=lambda p: -p[1])
            for name, a, b in pareto_front(by_suc, lambda p: (-p[1], p[2]))[:5]:
                table.add_row("pareto", name, f"{self.objectives[1]}={b:.4g}", f"{a:.4f}")
        return table

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        result = trial.last_result or {}
        if result.get("error") or "suc" not in result:
            self.failed += 1
        else:
            self.done += 1
            suc = float(result["suc"])
            key = result.get("arch_key", trial.trial_id)
            if self.best is None or suc > self.best[1]:
                self.best = (key, suc)
            if len(self.objectives) > 1:
                other = result.get(self.objectives[1])
                if other is not None and math.isfinite(other):
                    self.points.append((key, suc, float(other)))
        self._refresh()

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.failed += 1
        self._refresh()

    def _refresh(self) -> None:
        if not self.enabled:
            return
        if self._live is None:
            self._live = Live(self._render(), refresh_per_second=2, transient=False)
            self._live.start()
        self._live.update(self._render())

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.stop()
            self._live = None
