"""YAML loading with source locations, and strict parsing into frozen dataclasses."""

from __future__ import annotations

from nasvl.config.schema import parse_dataclass
from nasvl.config.yamldoc import Node, YamlDoc, load_yaml, load_yaml_text

__all__ = ["Node", "YamlDoc", "load_yaml", "load_yaml_text", "parse_dataclass"]
