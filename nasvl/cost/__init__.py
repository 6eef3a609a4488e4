"""Cost model: analytic params/MACs, and a per-op latency table measured under a deployment runtime."""

from __future__ import annotations

from nasvl.cost.latency import LatencyTable, calibrate, measure_table, validate
from nasvl.cost.model import Cost, CostModel
from nasvl.cost.timing import measure_arch_ms

__all__ = ["Cost", "CostModel", "LatencyTable", "calibrate", "measure_arch_ms", "measure_table", "validate"]
