"""ONNX graphs of an export: writing them (`nasvl export-onnx`) and running them with onnxruntime.

An export directory gains `onnx/`:

  template.onnx, search.onnx   the graphs (`graphs.py`)
  search.int8.onnx             optional: the per-frame graph statically quantised (`int8.py`)
  manifest.json                the export's arch_key and space_hash, the graphs' inputs and
                               outputs; written last, so a folder without it is incomplete

ONNX files read from a user's folder are data: each is size-bounded (`onnx_model_bytes`), parsed
without following external-data references (an initializer stored "externally" names a file
path, which could read anything on the machine; such a model is refused), and handed to
onnxruntime as bytes with the CPU provider only.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasvl.config.limits import ONNX_MODEL_BYTES
from nasvl.deploy.runtimes import Engine
from nasvl.errors import CheckpointError, ConfigError
from nasvl.io import atomic_write_json
from nasvl.supernet.mixer import LanguageInput

ONNX_DIR = "onnx"
FORMAT = "nasvl-onnx"
FORMAT_VERSION = 1
INT8_FILE = "search.int8.onnx"


def onnx_dir(export_dir: str | Path) -> Path:
    return Path(export_dir) / ONNX_DIR


def export_onnx(export_dir: str | Path, *, int8: bool = False, calibration: Any = None) -> Path:
    """Write the ONNX graphs of the export in `export_dir` (and the int8 search graph when `int8`).

    `calibration` (int8 only): the calibration feeds (`nasvl.tracking.calibration.calibration_feeds`,
    recorded with this export's fp32 graphs, so write those first).
    """
    from nasvl.deploy.graphs import export_graphs
    from nasvl.export import load_subnet, read_manifest

    export = Path(export_dir)
    subnet = load_subnet(export)
    if subnet.head is None:
        raise ConfigError(f"{export}: space {subnet.space.name!r} has no tracker head; only trackers are "
                          "exported to ONNX")
    source = read_manifest(export)
    out = onnx_dir(export)
    if out.exists() and not out.is_dir():
        raise CheckpointError(f"{out}: exists and is not a folder")
    out.mkdir(exist_ok=True)
    (out / "manifest.json").unlink(missing_ok=True)  # incomplete until the new manifest lands
    tmp = out / ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    manifest: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION,
                                "arch_key": source.get("arch_key"), "space_hash": source["space_hash"],
                                "versions": {"torch": torch.__version__}}
    manifest.update(export_graphs(subnet, subnet.arch, tmp))
    for name in ("template.onnx", "search.onnx"):
        (tmp / name).replace(out / name)
    (out / INT8_FILE).unlink(missing_ok=True)
    manifest["int8"] = None
    if int8:
        from nasvl.deploy.int8 import quantize_graph

        if not calibration:
            raise ConfigError("int8 needs calibration feeds (nasvl.tracking.calibration.calibration_feeds)")
        manifest["int8"] = quantize_graph(out / "search.onnx", out / INT8_FILE, calibration, tmp,
                                          prediction_fp32=True)
    shutil.rmtree(tmp, ignore_errors=True)
    atomic_write_json(out / "manifest.json", manifest, sort_keys=False)
    return out


def read_onnx_manifest(export_dir: str | Path) -> dict[str, Any]:
    """The ONNX manifest of an export, checked against the export's own manifest (stale graphs are refused)."""
    from nasvl.export import read_format_manifest, read_manifest

    export = Path(export_dir)
    path = onnx_dir(export) / "manifest.json"
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; run `nasvl export-onnx {export}` first")
    manifest = read_format_manifest(path, FORMAT, FORMAT_VERSION)
    source = read_manifest(export)
    for key in ("space_hash", "arch_key"):
        if manifest.get(key) != source.get(key):
            raise CheckpointError(f"{path}: {key} {manifest.get(key)!r} is not the export's {source.get(key)!r} "
                                  f"(stale graphs: run `nasvl export-onnx {export}` again)")
    for graph in ("template", "search"):
        entry = manifest.get(graph)
        ok = (isinstance(entry, dict) and isinstance(entry.get("file"), str)
              and all(isinstance(entry.get(k), list) and all(isinstance(n, str) for n in entry[k])
                      for k in ("inputs", "outputs")))
        if not ok:
            raise CheckpointError(f"{path}: field {graph!r} must name a file, its inputs and outputs")
    return manifest


def _checked_model_bytes(folder: Path, name: str) -> bytes:
    """The bytes of one ONNX file of `folder`, after the size, location and external-data checks."""
    import onnx
    from onnx.external_data_helper import uses_external_data

    path = folder / name
    if Path(name).name != name or not path.is_file() or path.is_symlink():
        raise CheckpointError(f"{path}: missing or not a regular file inside {folder}")
    size = path.stat().st_size
    if size > ONNX_MODEL_BYTES.value:
        raise CheckpointError(f"{path}: {ONNX_MODEL_BYTES.message(size)}")
    data = path.read_bytes()
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends: the file is not an ONNX model
        raise CheckpointError(f"{path}: not an ONNX model ({type(exc).__name__})") from None
    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        for tensor in graph.initializer:
            if uses_external_data(tensor):
                raise CheckpointError(f"{path}: initializer {tensor.name!r} refers to external data; an "
                                      "exported graph holds its own weights")
        for node in graph.node:
            for attr in node.attribute:
                if attr.t is not None and uses_external_data(attr.t):
                    raise CheckpointError(f"{path}: node {node.name!r} refers to external data")
                graphs.extend([attr.g, *attr.graphs] if attr.HasField("g") else list(attr.graphs))
    return data


def open_session(folder: Path, name: str, threads: int, optimization: str = "all") -> Any:
    """An onnxruntime CPU session on `folder/name`, after `_checked_model_bytes`'s checks."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # onnxruntime's pool busy-waits after each parallel section by default; a tracker runs crop and
    # decoding (OpenCV, torch, their own thread pools) between frames, and on few cores the spinning
    # threads take the CPU from them and from the next frame: measured on the paper CAND, 2 cores,
    # 68 vs 77-96 ms per frame with spinning (BENCHMARKS.md, issue 17).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED if optimization == "extended"
                                        else ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(_checked_model_bytes(folder, name), options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types for a bad model
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{folder / name}: onnxruntime cannot load it ({str(exc)[:200]})") from None


class OrtEngine(Engine):
    """The template and search graphs of an export, run by onnxruntime on the CPU."""

    def __init__(self, export_dir: str | Path, *, int8: bool = False, space: Any = None, arch: Any = None,
                 threads: int | None = None) -> None:
        manifest = read_onnx_manifest(export_dir)
        folder = onnx_dir(export_dir)
        self.runtime = "onnx-int8" if int8 else "onnx"
        threads = threads or torch.get_num_threads()
        if int8 and not manifest.get("int8"):
            raise ConfigError(f"{folder}: no int8 graph; run `nasvl export-onnx {export_dir} --int8`")
        search_file = INT8_FILE if int8 else manifest["search"]["file"]
        self.manifest = manifest
        self.template_session = open_session(folder, manifest["template"]["file"], threads)
        level = (manifest.get("int8") or {}).get("optimization", "all") if int8 else "all"
        self.search_session = open_session(folder, search_file, threads, level)
        for session, graph, file in ((self.template_session, "template", manifest["template"]["file"]),
                                     (self.search_session, "search", search_file)):
            have = {i.name for i in session.get_inputs()}
            unknown = have - set(manifest[graph]["inputs"])
            outputs = [o.name for o in session.get_outputs()]
            if unknown or sorted(outputs) != sorted(manifest[graph]["outputs"]):
                raise CheckpointError(f"{folder / file}: inputs/outputs do not match {folder / 'manifest.json'}")
        self.search_inputs = {i.name for i in self.search_session.get_inputs()}
        self.outputs = manifest["search"]["outputs"]

    def template(self, z: torch.Tensor, lang: LanguageInput | None) -> dict[str, np.ndarray]:
        feed = {"template": z.detach().cpu().numpy().astype(np.float32)}
        if "language" in self.manifest["template"]["inputs"]:
            dim = int(self.manifest["language_dim"])
            vec = torch.zeros(1, dim)
            if lang is not None:  # the zeros fallback: rows without text are zeros
                vec = torch.where(lang.has_text[:, None].cpu(), lang.embedding.cpu().float(), vec)
            feed["language"] = vec.numpy()
        names = [o.name for o in self.template_session.get_outputs()]
        state = dict(zip(names, self.template_session.run(None, feed), strict=True))
        return {k: v for k, v in state.items() if k in self.search_inputs}

    def feed(self, x: torch.Tensor, state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"search": x.detach().cpu().numpy().astype(np.float32), **state}

    def search(self, x: torch.Tensor, state: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        out = self.search_session.run(self.outputs, self.feed(x, state))
        return {k: torch.from_numpy(v) for k, v in zip(self.outputs, out, strict=True)}
