"""Supernet runtime: the one build function, extraction and BN recalibration."""

from __future__ import annotations

from nasvl.supernet.bn import path_modules, recalibrate_bn
from nasvl.supernet.mixer import LanguageInput, ModaMixer, roi_pool
from nasvl.supernet.network import Network, Subnet, Supernet, TemplateCache, build_supernet

__all__ = [
    "LanguageInput", "ModaMixer", "Network", "Subnet", "Supernet", "build_supernet",
    "TemplateCache", "path_modules", "recalibrate_bn", "roi_pool",
]
