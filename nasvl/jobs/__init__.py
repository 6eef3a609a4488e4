"""Jobs: YAML pipelines chaining data, supernet training, search, export, retraining and evaluation."""

from __future__ import annotations

from nasvl.jobs.runner import plan, run_job, step_status
from nasvl.jobs.spec import JobSpec, load_job, parse_job

__all__ = ["JobSpec", "load_job", "parse_job", "plan", "run_job", "step_status"]
