"""`Architecture`: one point of a search space, and its official `CAND` encoding.

An Architecture maps every choice block path (tied blocks included) to its op.
It is immutable, hashable and canonically ordered (the space's block order), so
it can be a dict key, a dedup key and a stable file. Build it through the space
(`space.arch(...)`, `space.sample(...)`), which validates and applies ties.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from nasvl.config.yamldoc import YamlDoc, load_yaml_text
from nasvl.errors import ConfigError, known
from nasvl.ops.shufflenet import SPOS_CHOICES

if TYPE_CHECKING:
    from nasvl.space.schema import SearchSpace


@dataclass(frozen=True)
class Architecture(Mapping[str, str]):
    choices: tuple[tuple[str, str], ...]

    def __getitem__(self, path: str) -> str:
        return self._dict[path]

    def __iter__(self) -> Iterator[str]:
        return (p for p, _ in self.choices)

    def __len__(self) -> int:
        return len(self.choices)

    def __hash__(self) -> int:
        return hash(self.choices)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Architecture):
            return self.choices == other.choices
        return NotImplemented

    @property
    def _dict(self) -> dict[str, str]:
        cached = self.__dict__.get("_cached_dict")
        if cached is None:
            cached = dict(self.choices)
            object.__setattr__(self, "_cached_dict", cached)
        return cached

    def to_dict(self) -> dict[str, str]:
        return dict(self.choices)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @property
    def key(self) -> str:
        """Short stable id (first 12 hex of the canonical JSON's sha256)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"Architecture({self.key}, {len(self)} blocks)"


def load_arch(space: SearchSpace, data: Mapping[str, Any] | str | YamlDoc,
              file: str = "<architecture>") -> Architecture:
    """Parse an architecture from a mapping, YAML/JSON text or a loaded document, validated against `space`.

    Text goes through the hardened YAML loader (JSON is YAML), so size, nesting and alias limits
    hold for architecture files too; every error names the file, and the line of the bad entry.
    """
    if isinstance(data, str):
        data = load_yaml_text(data, file)
    doc = data if isinstance(data, YamlDoc) else YamlDoc(data, file)
    if not isinstance(doc.data, Mapping):
        raise ConfigError(f"an architecture must be a mapping from block path to op name, got "
                          f"{type(doc.data).__name__}", file=doc.file)
    index = {s.path: s for s in space.slots}
    for path, node in doc.root.items():
        if not isinstance(path, str) or path not in index:
            raise node.error(f"unknown block {ascii(path)} in space {space.name!r}")
        op = node.as_str()
        if op not in index[path].options:
            raise node.error(f"op {op!r} is not an option {known(index[path].options)}")
    try:
        return space.arch(doc.data)
    except ConfigError as exc:  # ties and missing blocks: about the whole mapping
        raise ConfigError(exc.rule, file=doc.file) from None


# ---- the official VLT/SOTS CAND encoding ------------------------------------------------
# CAND = [template backbone (20), search backbone (20), template mixers (4), search mixers (4)],
# each entry an index into (shuffle3, shuffle5, shuffle7, xception3). In the official code a
# stage's mixer choice is the block that processes the language-mixed feature (our *post*),
# and the stage's own last backbone layer plays the *pre* role: in a space with mixer placement
# `last_layer` (the paper's spaces) that is exactly the network; with placement `after` the
# import sets pre to `skip` (the same parameters, a different function).


def _cand_layout(space: SearchSpace) -> tuple[list[str], list[str], list[str], list[str]]:
    def branch_layers(branch: str) -> list[str]:
        return [s.path for s in space.slots if s.branch == branch and s.kind == "layer"]

    if set(space.branches) != {"template", "search"} or space.mixer is None:
        raise ConfigError(f"space {space.name!r} has no template/search branches with mixers; CAND needs both")
    stages = list(space.mixer.stages)
    t_layers, s_layers = branch_layers("template"), branch_layers("search")
    t_mix = [f"template.{st}.post" for st in stages]
    s_mix = [f"search.{st}.post" for st in stages]
    return t_layers, s_layers, t_mix, s_mix


def from_cand(space: SearchSpace, cand: list[list[int]], source: str = "CAND") -> Architecture:
    """Import an official `CAND` list (with placement `after`, pre blocks become `skip`; see above).

    `source` names where the list came from (a flag, a file) in every error.
    """
    try:
        return _from_cand(space, cand)
    except ConfigError as exc:
        raise ConfigError(exc.rule, file=exc.file or source) from None


def _from_cand(space: SearchSpace, cand: list[list[int]]) -> Architecture:
    groups = _cand_layout(space)
    if not isinstance(cand, list) or len(cand) != 4:
        raise ConfigError("CAND must be a list of 4 lists: template, search, template mixers, search mixers")
    choices: dict[str, str] = {}
    names = ("template backbone", "search backbone", "template mixers", "search mixers")
    for group_name, paths, values in zip(names, groups, cand, strict=True):
        if not isinstance(values, list) or len(values) != len(paths):
            raise ConfigError(f"CAND {group_name}: expected {len(paths)} indices, got {values!r}")
        for path, idx in zip(paths, values, strict=True):
            if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < len(SPOS_CHOICES):
                raise ConfigError(f"CAND {group_name}: index {idx!r} is not in 0..3")
            choices[path] = SPOS_CHOICES[idx]
    if space.mixer.placement == "after":  # type: ignore[union-attr]
        for branch in ("template", "search"):
            for st in space.mixer.stages:  # type: ignore[union-attr]
                choices[f"{branch}.{st}.pre"] = "skip"
    # Fixed slots must agree with the CAND but are not part of an Architecture.
    fixed = {s.path for s in space.slots if s.fixed}
    for path in list(choices):
        if path in fixed:
            if choices[path] != space.slot(path).options[0]:
                raise ConfigError(f"CAND sets {path} to {choices[path]!r} but the space fixes it to "
                                  f"{space.slot(path).options[0]!r}")
            del choices[path]
    return space.arch(choices)


def to_cand(space: SearchSpace, arch: Architecture) -> list[list[int]]:
    """Export to the official `CAND` list; fails if the architecture is not expressible there."""
    ops = space.resolve(arch)
    for branch in ("template", "search"):
        for st in space.mixer.stages if space.mixer and space.mixer.placement == "after" else ():
            if ops[f"{branch}.{st}.pre"] != "skip":
                raise ConfigError(f"{branch}.{st}.pre is {ops[f'{branch}.{st}.pre']!r}; the official CAND "
                                  "format has no pre block (it must be 'skip')")
    out = []
    for paths in _cand_layout(space):
        row = []
        for path in paths:
            if ops[path] not in SPOS_CHOICES:
                raise ConfigError(f"{path} is {ops[path]!r}, which the CAND format cannot express")
            row.append(SPOS_CHOICES.index(ops[path]))
        out.append(row)
    return out
