"""Tampered exports thrown at `nasvl track`: one real tiny export per module, a tampered copy per case.

Exports are what researchers swap and download from paper pages, so every file in one is untrusted:
weights that are really a pickle (or a `torch.save` zip) carrying a payload, a forged safetensors
header, a half-downloaded file, NaN weights from a diverged run, an edited manifest, a symlink that
leads out of the folder. Each case must be refused with the file and the rule, no traceback, and no
payload may run.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.adversarial.harness import assert_contained, assert_refused, run_nasvl, snapshot

WEIGHTS, MANIFEST, ARCH = "weights.safetensors", "manifest.json", "arch.yaml"


class Payload:
    """Unpickling this runs `touch <marker>`: the file must never appear."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from nasvl.export import save_subnet
    from tests.trackers.conftest import sample_arch, tiny_supernet

    net, space = tiny_supernet("tiny_siamcar.yaml")
    return save_subnet(net.extract(sample_arch(space)), tmp_path_factory.mktemp("export") / "export")


# ---- tampering helpers: each takes the copied export folder and returns (file to name, fragments) --

def _edit_tensors(edit: Callable[[dict[str, torch.Tensor]], str]) -> Callable[[Path], tuple[Path, list[str]]]:
    def tamper(d: Path) -> tuple[Path, list[str]]:
        tensors = load_file(str(d / WEIGHTS))
        fragment = edit(tensors)
        save_file(tensors, str(d / WEIGHTS))
        return d / WEIGHTS, [fragment]
    return tamper


def _first_float(tensors: dict[str, torch.Tensor]) -> str:
    return next(k for k, v in tensors.items() if v.is_floating_point() and v.numel() > 1)


def _nan(tensors: dict[str, torch.Tensor]) -> str:
    key = _first_float(tensors)
    tensors[key] = tensors[key].clone()
    tensors[key].view(-1)[0] = float("nan")
    return f"tensor {key} holds NaN or infinite values"


def _inf(tensors: dict[str, torch.Tensor]) -> str:
    key = sorted(k for k, v in tensors.items() if v.is_floating_point())[-1]
    tensors[key] = tensors[key].clone()
    tensors[key].view(-1)[-1] = float("-inf")
    return f"tensor {key} holds NaN or infinite values"


def _drop(tensors: dict[str, torch.Tensor]) -> str:
    key = _first_float(tensors)
    del tensors[key]
    return "missing ["


def _extra(tensors: dict[str, torch.Tensor]) -> str:
    tensors["backdoor.weight"] = torch.zeros(3)
    return "unexpected ['backdoor.weight']"


def _reshape(tensors: dict[str, torch.Tensor]) -> str:
    key = _first_float(tensors)
    tensors[key] = torch.zeros(tensors[key].numel() + 1)
    return f"{key} has shape"


def _dtype(tensors: dict[str, torch.Tensor]) -> str:
    key = _first_float(tensors)
    tensors[key] = tensors[key].half()
    return f"{key} has dtype F16"


def _pickle(d: Path) -> tuple[Path, list[str]]:
    (d / WEIGHTS).write_bytes(pickle.dumps({"w": Payload(d.parent / "PWNED")}, protocol=4))
    return d / WEIGHTS, ["unreadable", "not a safetensors file"]


def _torch_zip(d: Path) -> tuple[Path, list[str]]:
    torch.save({"w": Payload(d.parent / "PWNED")}, str(d / WEIGHTS))
    return d / WEIGHTS, ["unreadable", "not a safetensors file"]


def _truncated(d: Path) -> tuple[Path, list[str]]:
    data = (d / WEIGHTS).read_bytes()
    (d / WEIGHTS).write_bytes(data[: len(data) * 2 // 3])
    return d / WEIGHTS, ["unreadable", "truncated?"]


def _huge_header(d: Path) -> tuple[Path, list[str]]:
    (d / WEIGHTS).write_bytes(struct.pack("<Q", 1 << 40) + b"{}" * 64)
    return d / WEIGHTS, ["header length", "NASVL_LIMIT_SAFETENSORS_HEADER_BYTES"]


def _forged_offsets(d: Path) -> tuple[Path, list[str]]:
    header = json.dumps({"a": {"dtype": "F32", "shape": [1 << 30], "data_offsets": [0, 4 << 30]}}).encode()
    (d / WEIGHTS).write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    return d / WEIGHTS, ["tensor 'a': data offsets"]


def _symlink_out(name: str) -> Callable[[Path], tuple[Path, list[str]]]:
    def tamper(d: Path) -> tuple[Path, list[str]]:
        outside = d.parent / f"elsewhere-{name}"
        shutil.copy(d / name, outside)
        (d / name).unlink()
        (d / name).symlink_to(outside)
        return d / name, ["outside the export"]
    return tamper


def _dangling(d: Path) -> tuple[Path, list[str]]:
    (d / ARCH).unlink()
    (d / ARCH).symlink_to(d / "nowhere.yaml")
    return d / ARCH, ["dangling symlink"]


def _manifest(edit: Callable[[dict], str | None], raw: Callable[[dict], str] | None = None
              ) -> Callable[[Path], tuple[Path, list[str]]]:
    def tamper(d: Path) -> tuple[Path, list[str]]:
        manifest = json.loads((d / MANIFEST).read_text())
        fragment = edit(manifest)
        (d / MANIFEST).write_text(raw(manifest) if raw else json.dumps(manifest))
        return d / MANIFEST, [fragment] if fragment else []
    return tamper


def _space_edited(m: dict) -> str:
    m["space"]["name"] = "someone_elses_space"
    return "does not match the recorded"


def _set(key: str, value: object, fragment: str) -> Callable[[dict], str]:
    def edit(m: dict) -> str:
        m[key] = value
        return fragment
    return edit


def _nested(m: dict) -> str:
    return "not valid JSON"


def _arch_python_tag(d: Path) -> tuple[Path, list[str]]:
    (d / ARCH).write_text(f"search.stage1.0: !!python/object/apply:os.system ['touch {d.parent / 'PWNED'}']\n")
    return d / ARCH, []


CASES: dict[str, Callable[[Path], tuple[Path, list[str]]]] = {
    "nan-weights": _edit_tensors(_nan),
    "inf-weights": _edit_tensors(_inf),
    "missing-tensor": _edit_tensors(_drop),
    "extra-tensor": _edit_tensors(_extra),
    "wrong-shape": _edit_tensors(_reshape),
    "wrong-dtype": _edit_tensors(_dtype),
    "pickle-payload-as-weights": _pickle,
    "torch-save-zip-payload-as-weights": _torch_zip,
    "truncated-weights": _truncated,
    "safetensors-header-claims-1TB": _huge_header,
    "safetensors-offsets-past-the-end": _forged_offsets,
    "weights-symlink-outside": _symlink_out(WEIGHTS),
    "manifest-symlink-outside": _symlink_out(MANIFEST),
    "arch-dangling-symlink": _dangling,
    "manifest-space-hash-edited": _manifest(_set("space_hash", "0" * 16, "does not match the recorded")),
    "manifest-space-edited-not-resealed": _manifest(_space_edited),
    "manifest-arch-key-edited": _manifest(_set("arch_key", "feedfacecafe", "arch_key")),
    "manifest-affine-bn-a-string": _manifest(_set("affine_bn", "yes", "'affine_bn' must be a bool")),
    "manifest-format-version-9": _manifest(_set("format_version", 9, "format_version 9 is not supported")),
    "manifest-over-4MB": _manifest(_set("extra", {"pad": "x" * (5 << 20)}, "NASVL_LIMIT_EXPORT_MANIFEST_BYTES")),
    "manifest-nested-100000-deep": _manifest(_nested, raw=lambda m: "[" * 100_000 + "]" * 100_000),
    "manifest-5000-digit-integer": _manifest(_nested, raw=lambda m: '{"format": ' + "9" * 5000 + "}"),
    "arch-python-tag": _arch_python_tag,
}


@pytest.mark.parametrize("case", list(CASES))
def test_track_refuses_a_tampered_export(tmp_path: Path, export: Path, case: str) -> None:
    model = tmp_path / "export"
    shutil.copytree(export, model)
    named, fragments = CASES[case](model)
    video = tmp_path / "video"
    video.mkdir()
    for i in range(3):
        cv2.imwrite(str(video / f"{i + 1:08d}.jpg"), np.full((48, 64, 3), 90, np.uint8))
    before = snapshot(tmp_path)
    out = run_nasvl(["track", "--model", model, "--video", video, "--init", "20,10,20,20", "--out",
                     tmp_path / "out" / "boxes.txt", "--quiet"], cwd=tmp_path)
    assert_refused(out, code=2, mentions=[str(named), *fragments])
    assert not (tmp_path / "out" / "boxes.txt").exists()
    assert_contained(tmp_path, tmp_path / "out", before)


def test_the_untampered_export_tracks(tmp_path: Path, export: Path) -> None:
    """The control: the same command on the export as written runs (so the refusals above are the tampering)."""
    video = tmp_path / "video"
    video.mkdir()
    for i in range(3):
        cv2.imwrite(str(video / f"{i + 1:08d}.jpg"), np.full((48, 64, 3), 90, np.uint8))
    out = run_nasvl(["track", "--model", export, "--video", video, "--init", "20,10,20,20", "--out",
                     tmp_path / "boxes.txt", "--quiet"], cwd=tmp_path)
    assert out.code == 0, out.output
    assert len((tmp_path / "boxes.txt").read_text().splitlines()) == 3
