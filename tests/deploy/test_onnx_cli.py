"""`nasvl export-onnx` and `nasvl track --runtime onnx` as a user runs them, and ONNX files as untrusted data."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from nasvl.bench.trackers import moving_shape_video
from tests.adversarial.harness import assert_refused, run_nasvl
from tests.deploy.conftest import make_export


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("onnx")
    export = make_export("tiny.yaml", "sample", root / "export")
    done = run_nasvl(["export-onnx", export, "--quiet"], cwd=root)
    assert done.code == 0, done.output
    frames, _ = moving_shape_video(10)
    video = root / "video" / "img"
    video.mkdir(parents=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(video / f"{i + 1:08d}.png"), frame)  # lossless: both runtimes see the same pixels
    return export, video.parent


def _track(export: Path, video: Path, out: Path, runtime: str, env: dict[str, str] | None = None):  # noqa: ANN202
    box = "84,105,40,30"  # moving_shape_video's first box, rounded
    return run_nasvl(["track", "--model", export, "--video", video, "--init", box, "--out", out,
                      "--runtime", runtime, "--quiet"], cwd=out.parent, env=env)


def test_track_with_the_onnx_runtime_follows_the_torch_boxes(onnx_export: tuple[Path, Path], tmp_path: Path) -> None:
    export, video = onnx_export
    manifest = json.loads((export / "onnx" / "manifest.json").read_text())
    assert manifest["template"]["inputs"] == ["template", "language"] and manifest["int8"] is None
    boxes = {}
    for runtime in ("onnx", "torch-plain"):
        out = tmp_path / f"{runtime}.txt"
        done = _track(export, video, out, runtime)
        assert done.code == 0, done.output
        boxes[runtime] = np.loadtxt(out, delimiter=",")
    assert boxes["onnx"].shape == (10, 4) and np.isfinite(boxes["onnx"]).all()
    np.testing.assert_allclose(boxes["onnx"], boxes["torch-plain"], atol=0.02)  # the file keeps 2 decimals


def _copy(export: Path, to: Path) -> Path:
    import shutil

    return Path(shutil.copytree(export, to))


def _garbage(onnx: Path) -> None:
    (onnx / "search.onnx").write_bytes(b"\x08\x07garbage" * 100)


def _external(onnx: Path) -> None:
    import onnx as onnx_lib

    model = onnx_lib.load(str(onnx / "search.onnx"))
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx_lib.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "/etc/passwd"
    (onnx / "search.onnx").write_bytes(model.SerializeToString())


def _stale(onnx: Path) -> None:
    manifest = json.loads((onnx / "manifest.json").read_text())
    manifest["arch_key"] = "someone-elses-arch"
    (onnx / "manifest.json").write_text(json.dumps(manifest))


def _no_graphs(onnx: Path) -> None:
    (onnx / "manifest.json").unlink()


CASES = {
    "garbage-graph": (_garbage, {}, ["search.onnx", "not an ONNX model"]),
    "external-data": (_external, {}, ["search.onnx", "external data"]),
    "over-size-limit": (lambda onnx: None, {"NASVL_LIMIT_ONNX_MODEL_BYTES": "1000"},
                        ["template.onnx", "NASVL_LIMIT_ONNX_MODEL_BYTES"]),
    "stale-manifest": (_stale, {}, ["manifest.json", "arch_key", "export-onnx"]),
    "no-graphs": (_no_graphs, {}, ["manifest.json", "export-onnx"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_onnx_folder_is_refused_cleanly(case: str, onnx_export: tuple[Path, Path], tmp_path: Path) -> None:
    export, video = onnx_export
    tamper, env, mentions = CASES[case]
    copy = _copy(export, tmp_path / "export")
    tamper(copy / "onnx")
    done = _track(copy, video, tmp_path / "boxes.txt", "onnx", env)
    assert_refused(done, mentions=mentions)
    assert not (tmp_path / "boxes.txt").exists()


def test_an_unknown_runtime_is_refused(onnx_export: tuple[Path, Path], tmp_path: Path) -> None:
    export, video = onnx_export
    assert_refused(_track(export, video, tmp_path / "b.txt", "tensorrt"), mentions=["tensorrt", "onnx-int8"])
