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
import math
import struct
from pathlib import Path
from typing import Any

import torch
import yaml
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import nasvl
from nasvl.config.limits import EXPORT_MANIFEST_BYTES, SAFETENSORS_HEADER_BYTES
from nasvl.config.yamldoc import load_json_text, load_yaml_text
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


def _member(export_dir: Path, name: str) -> Path:
    """A file of the export, which must be a regular file inside it (a symlink may not lead out)."""
    path = export_dir / name
    if not path.exists():
        why = "a dangling symlink" if path.is_symlink() else "missing"
        raise CheckpointError(f"{path}: {why} (the export is incomplete or this is not an export directory)")
    if not path.resolve().is_relative_to(export_dir.resolve()):
        raise CheckpointError(f"{path}: a symlink to {path.resolve()}, outside the export; an export holds "
                              f"its own files")
    if not path.is_file():
        raise CheckpointError(f"{path}: not a regular file")
    return path


def _read_small(path: Path) -> str:
    size = path.stat().st_size
    if size > EXPORT_MANIFEST_BYTES.value:
        raise CheckpointError(f"{path}: {EXPORT_MANIFEST_BYTES.message(size)}")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_format_manifest(path: Path, format: str, version: int) -> dict[str, Any]:
    """A bounded, UTF-8 JSON manifest whose `format` and `format_version` are `format` and `version`
    (an export's, or the ONNX graphs' beside it)."""
    try:
        manifest = load_json_text(_read_small(path), str(path), size_limit=EXPORT_MANIFEST_BYTES)
    except ConfigError as exc:
        where = f"line {exc.line}: " if exc.line else ""
        raise CheckpointError(f"{path}: not valid JSON for a {format} manifest ({where}{exc.rule})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != format:
        raise CheckpointError(f"{path}: not a {format} manifest")
    if manifest.get("format_version") != version:
        raise CheckpointError(f"{path}: format_version {manifest.get('format_version')!r} is not supported "
                              f"(this nasvl reads {version})")
    return manifest


def read_manifest(export_dir: str | Path) -> dict[str, Any]:
    d = Path(export_dir)
    if not d.is_dir():
        raise CheckpointError(f"{d}: not an export directory")
    path = _member(d, "manifest.json")
    manifest = read_format_manifest(path, FORMAT, FORMAT_VERSION)
    for key, kind in (("space", dict), ("space_hash", str), ("affine_bn", bool)):
        if key not in manifest:
            raise CheckpointError(f"{path}: missing field {key!r}")
        if not isinstance(manifest[key], kind):
            raise CheckpointError(f"{path}: field {key!r} must be a {kind.__name__}, "
                                  f"got {type(manifest[key]).__name__}")
    return manifest


# safetensors dtype names -> torch dtypes an exported subnet can hold
_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
           "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
           "BOOL": torch.bool}


def _unreadable(path: Path, why: str) -> CheckpointError:
    return CheckpointError(f"{path}: unreadable ({why})")


def _safetensors_header(path: Path) -> dict[str, Any]:
    """Parse and check a safetensors header ourselves before the library maps the file.

    The file is 8 bytes of little-endian header length, a JSON header, then the tensor bytes. A
    pickle or a zip (torch.save) read this way claims an absurd header length, and is refused
    here with its name, as is a header whose offsets run past the end of the file.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise _unreadable(path, f"truncated safetensors file ({size} bytes)")
        (n,) = struct.unpack("<Q", head)
        if n > SAFETENSORS_HEADER_BYTES.value:
            raise _unreadable(path, f"not a safetensors file, or a forged one: header length "
                                  f"{SAFETENSORS_HEADER_BYTES.message(n)}")
        if 8 + n > size:
            raise _unreadable(path, f"truncated safetensors file (header claims {n} bytes, file has {size})")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # also UnicodeDecodeError, a ValueError
        raise _unreadable(path, "safetensors header is not valid JSON") from None
    if not isinstance(header, dict):
        raise _unreadable(path, "safetensors header is not a JSON object")
    header.pop("__metadata__", None)
    data_len = size - 8 - n
    for name, info in header.items():
        ok = (isinstance(info, dict) and info.get("dtype") in _DTYPES and isinstance(info.get("shape"), list)
              and all(isinstance(v, int) and v >= 0 for v in info["shape"])
              and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2
              and all(isinstance(v, int) for v in info["data_offsets"]))
        if not ok:
            raise _unreadable(path, f"tensor {name!r}: malformed safetensors entry")
        begin, end = info["data_offsets"]
        itemsize = torch.empty(0, dtype=_DTYPES[info["dtype"]]).element_size()
        if not 0 <= begin <= end <= data_len or end - begin != math.prod(info["shape"]) * itemsize:
            raise _unreadable(path, f"tensor {name!r}: data offsets {begin}..{end} do not fit its shape "
                                  f"{info['shape']} or the file ({data_len} data bytes; truncated?)")
    return header


def _check_tensors(weights_path: Path, header: dict[str, Any], expected: dict[str, torch.Tensor],
                   arch_name: str) -> None:
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{weights_path}: does not match {arch_name}: "
                              f"missing {missing[:5]}{'…' if len(missing) > 5 else ''}, "
                              f"unexpected {unexpected[:5]}{'…' if len(unexpected) > 5 else ''}")
    for key, info in header.items():
        want = expected[key]
        if tuple(info["shape"]) != tuple(want.shape):
            raise CheckpointError(f"{weights_path}: {key} has shape {tuple(info['shape'])}, "
                                  f"expected {tuple(want.shape)}")
        if _DTYPES[info["dtype"]] != want.dtype:
            raise CheckpointError(f"{weights_path}: {key} has dtype {info['dtype']}, expected {want.dtype}")


def load_subnet(export_dir: str | Path, device: str | torch.device = "cpu") -> Subnet:
    """Rebuild a subnet from an export directory alone, checking every file before trusting it."""
    d = Path(export_dir)
    manifest = read_manifest(d)
    manifest_path = d / "manifest.json"
    try:
        # The normal space parser, with every bound it applies to a space file.
        space = parse_space_dict(manifest["space"], file=str(manifest_path))
    except (ConfigError, TypeError, RecursionError) as exc:
        raise CheckpointError(f"{manifest_path}: embedded space is invalid: {exc}") from None
    if space.hash != manifest["space_hash"]:
        raise CheckpointError(f"{manifest_path}: space hash {space.hash} does not match the recorded "
                              f"{manifest['space_hash']} (edited manifest or incompatible nasvl version)")
    arch_path = _member(d, "arch.yaml")
    try:
        arch = load_arch(space, load_yaml_text(_read_small(arch_path), file=str(arch_path)).data)
    except (ConfigError, yaml.YAMLError) as exc:  # a tag like !!python/object is refused while composing
        raise CheckpointError(f"{arch_path}: {exc}") from None
    subnet = Subnet(space, arch, affine=manifest["affine_bn"])
    weights_path = _member(d, "weights.safetensors")
    expected = subnet.state_dict()
    _check_tensors(weights_path, _safetensors_header(weights_path), expected, arch_path.name)
    if "arch_key" in manifest and manifest["arch_key"] != arch.key:
        raise CheckpointError(f"{arch_path}: architecture {arch.key} is not the arch_key of {manifest_path}, "
                              f"{manifest['arch_key']!r} (edited arch.yaml or manifest)")
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights_path}: unreadable ({exc})") from None
    for key, tensor in tensors.items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{weights_path}: tensor {key} holds NaN or infinite values")
    subnet.load_state_dict(tensors, strict=True)
    return subnet.to(device).eval()
