"""Reading foreign checkpoints safely, and copying them onto a network key by key, strictly.

A foreign checkpoint is a torch file holding a state dict, possibly under `state_dict`, with
keys possibly prefixed `module.` (DataParallel). It is read with `weights_only=True` only: a
file that needs arbitrary unpickling is refused, never executed. `apply_mapping` accounts for
every key: each source key is mapped, or named as unused; each target key is filled, or named
as missing; a shape mismatch names the key, the expected and the found shape.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from nasvl.errors import CheckpointError

Transform = Callable[[torch.Tensor], torch.Tensor]
LIST_LIMIT = 12  # names shown in a message before "... and N more"


def _names(keys: Iterable[str]) -> str:
    keys = list(keys)
    shown = ", ".join(keys[:LIST_LIMIT])
    return shown + (f", ... and {len(keys) - LIST_LIMIT} more" if len(keys) > LIST_LIMIT else "")


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a torch checkpoint file, under `state_dict` if there, without `module.` prefixes."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{p}: refused: the file needs arbitrary unpickling, which nasvl never does "
                              f"(torch.load weights_only=True: {first}); re-save it as a plain state dict "
                              "of tensors") from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"{p}: not a readable torch checkpoint ({type(exc).__name__}: "
                              f"{str(exc).strip().splitlines()[0] if str(exc).strip() else ''})") from None
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{p}: holds a {type(obj).__name__}, not a state dict (mapping of names to tensors)")
    out: dict[str, torch.Tensor] = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{p}: entry {key!r} is a {type(value).__name__}, not a tensor; "
                                  "a state dict maps names to tensors")
        name = key[len("module."):] if key.startswith("module.") else key
        if name in out:
            raise CheckpointError(f"{p}: key {name!r} appears twice (with and without 'module.')")
        out[name] = value
    return out


@dataclass
class ImportReport:
    """What an import did with every key."""

    source: str
    mapped: dict[str, str] = field(default_factory=dict)   # source key -> target key
    unused: list[str] = field(default_factory=list)        # source keys nasvl does not use (with reason)
    missing: list[str] = field(default_factory=list)       # target keys the checkpoint does not fill

    def summary(self) -> str:
        return (f"{self.source}: {len(self.mapped)} keys mapped, {len(self.unused)} unused, "
                f"{len(self.missing)} target keys kept at their initial values")

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "mapped": len(self.mapped), "unused": self.unused, "missing": self.missing}


Mapping_ = list[tuple[str, str, "Transform | None"]]  # (source key, target key, transform)


def apply_mapping(source: Mapping[str, torch.Tensor], mapping: Mapping_,
                  target: torch.nn.Module, *, file: str, unused: Mapping[str, str],
                  allow_missing: Callable[[str], bool]) -> ImportReport:
    """Copy `source[src]` (transformed) onto `target`'s `dst` for every (src, dst, transform).

    `unused` names the source keys that are known and deliberately not used, with the reason.
    Every other unmapped source key, every shape mismatch and every target key neither filled
    nor allowed missing is an error that names the keys.
    """
    own = target.state_dict()
    sources = {src for src, _, _ in mapping}
    unknown = [k for k in source if k not in sources and k not in unused]
    if unknown:
        raise CheckpointError(f"{file}: {len(unknown)} unexpected key(s), not part of the official layout: "
                              f"{_names(unknown)}")
    bad: list[str] = []
    values: dict[str, torch.Tensor] = {}
    report = ImportReport(file)
    for src, dst, transform in mapping:
        if src not in source:
            continue
        if dst not in own:
            raise CheckpointError(f"{file}: internal mapping error: {src} -> {dst}, which the network lacks")
        value = source[src] if transform is None else transform(source[src])
        if tuple(value.shape) != tuple(own[dst].shape):
            bad.append(f"{src}: expected shape {list(own[dst].shape)} (for {dst}), found {list(source[src].shape)}")
            continue
        values[dst] = value.to(own[dst].dtype)
        report.mapped.setdefault(src, dst)
    if bad:
        raise CheckpointError(f"{file}: {len(bad)} shape mismatch(es): " + "; ".join(bad[:LIST_LIMIT])
                              + (f"; ... and {len(bad) - LIST_LIMIT} more" if len(bad) > LIST_LIMIT else ""))
    missing_src = sorted({s for s, d, _ in mapping if s not in source and not allow_missing(d)})
    if missing_src:
        raise CheckpointError(f"{file}: {len(missing_src)} missing key(s): {_names(missing_src)}")
    report.unused = [f"{k} ({unused[k]})" for k in source if k in unused]
    report.missing = [k for k in own if k not in values]
    not_allowed = [k for k in report.missing if not allow_missing(k)]
    if not_allowed:
        raise CheckpointError(f"{file}: the checkpoint leaves {len(not_allowed)} network key(s) unset: "
                              f"{_names(not_allowed)}")
    with torch.no_grad():
        for dst, value in values.items():
            own[dst].copy_(value)
    return report
