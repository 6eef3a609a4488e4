"""Save and load standalone subnets (pytracking `NetConstructor` style).

An export directory holds everything needed to rebuild the network without the
supernet or the original space file:

  arch.yaml            the architecture (block path -> op)
  weights.safetensors  the subnet's tensors (no pickle)
  manifest.json        the space (embedded), its hash, tracker, BN mode, versions, and
                       free-form provenance (search run, score, costs)

The manifest is written last, so a directory without one is an interrupted export.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import nasvl
from nasvl.errors import CheckpointError, ConfigError
from nasvl.io import atomic_write, atomic_write_json, atomic_write_text
from nasvl.space import load_arch, parse_space_dict
from nasvl.supernet.network import Subnet

FORMAT = "nasvl-subnet"
FORMAT_VERSION = 1


def save_subnet(subnet: Subnet, out_dir: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write `subnet` to `out_dir` (created if needed); `extra` goes into the manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / "manifest.json"
    manifest_path.unlink(missing_ok=True)  # the directory is incomplete until the new manifest lands
    space = subnet.space
    atomic_write_text(out / "arch.yaml", subnet.arch.to_yaml())
    tensors = {k: v.detach().cpu().contiguous() for k, v in subnet.state_dict().items()}
    atomic_write(out / "weights.safetensors", lambda p: save_file(tensors, str(p), metadata={"format": FORMAT}))
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "space_name": space.name,
        "space_hash": space.hash,
        "space": space.raw,
        "tracker": space.tracker.name if space.tracker else None,
        "arch_key": subnet.arch.key,
        "affine_bn": subnet.affine,
        "versions": {"nasvl": nasvl.__version__, "torch": torch.__version__},
        "extra": extra or {},
    }
    atomic_write_json(manifest_path, manifest, sort_keys=False)
    return out


def read_manifest(export_dir: str | Path) -> dict[str, Any]:
    d = Path(export_dir)
    path = d / "manifest.json"
    if not d.is_dir():
        raise CheckpointError(f"{d}: not an export directory")
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (the export is incomplete or this is not an export directory)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: format_version {manifest.get('format_version')!r} is not supported "
                              f"(this nasvl reads {FORMAT_VERSION})")
    for key in ("space", "space_hash", "affine_bn"):
        if key not in manifest:
            raise CheckpointError(f"{path}: missing field {key!r}")
    return manifest


def load_subnet(export_dir: str | Path, device: str | torch.device = "cpu") -> Subnet:
    """Rebuild a subnet from an export directory alone."""
    d = Path(export_dir)
    manifest = read_manifest(d)
    try:
        space = parse_space_dict(manifest["space"], file=str(d / "manifest.json"))
    except ConfigError as exc:
        raise CheckpointError(f"{d / 'manifest.json'}: embedded space is invalid: {exc}") from None
    if space.hash != manifest["space_hash"]:
        raise CheckpointError(f"{d / 'manifest.json'}: space hash {space.hash} does not match the recorded "
                              f"{manifest['space_hash']} (edited manifest or incompatible nasvl version)")
    arch_path = d / "arch.yaml"
    if not arch_path.is_file():
        raise CheckpointError(f"{arch_path}: missing")
    try:
        arch = load_arch(space, arch_path.read_text(encoding="utf-8"))
    except (ConfigError, yaml.YAMLError) as exc:
        raise CheckpointError(f"{arch_path}: {exc}") from None
    subnet = Subnet(space, arch, affine=bool(manifest["affine_bn"]))
    weights_path = d / "weights.safetensors"
    if not weights_path.is_file():
        raise CheckpointError(f"{weights_path}: missing")
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights_path}: unreadable ({exc})") from None
    expected = subnet.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{weights_path}: does not match {arch_path.name}: "
                              f"missing {missing[:5]}{'…' if len(missing) > 5 else ''}, "
                              f"unexpected {unexpected[:5]}{'…' if len(unexpected) > 5 else ''}")
    for key, tensor in tensors.items():
        if tensor.shape != expected[key].shape:
            raise CheckpointError(f"{weights_path}: {key} has shape {tuple(tensor.shape)}, "
                                  f"expected {tuple(expected[key].shape)}")
    subnet.load_state_dict(tensors, strict=True)
    return subnet.to(device).eval()
