"""Cost model: analytic params/MACs, and a measured per-op latency table."""

from __future__ import annotations

from nasvl.cost.latency import LatencyTable, measure_arch_ms, measure_table, validate
from nasvl.cost.model import Cost, CostModel

__all__ = ["Cost", "CostModel", "LatencyTable", "measure_arch_ms", "measure_table", "validate"]
