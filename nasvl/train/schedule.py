"""Learning-rate schedules as multiplicative factors per step (for `LambdaLR`)."""

from __future__ import annotations

import math
from collections.abc import Callable

from nasvl.train.config import ScheduleConfig


def lr_factor(cfg: ScheduleConfig, total_steps: int) -> Callable[[int], float]:
    if cfg.name == "constant":
        return lambda step: 1.0
    if cfg.name == "step":
        return lambda step: cfg.gamma ** (step // cfg.step_size)

    warm = max(0, min(cfg.warmup_steps, total_steps - 1))
    decay_steps = max(1, total_steps - warm)
    log_end = math.log(cfg.end_factor)

    def warmup_log(step: int) -> float:
        if step < warm:
            # Linear warm-up from warmup_start_factor to 1 (SiamCAR's WarmUPScheduler).
            return cfg.warmup_start_factor + (1 - cfg.warmup_start_factor) * step / warm
        # Log-linear decay from 1 to end_factor (SiamCAR's LogScheduler).
        return math.exp(log_end * min(1.0, (step - warm) / decay_steps))

    return warmup_log
