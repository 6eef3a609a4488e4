"""The int8 search graph (what is quantised, how onnxruntime loads it, that it computes the fp32 function) and session settings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from nasvl.deploy.int8 import INT8_OPTIMIZATION
from nasvl.deploy.ort import INT8_FILE, export_onnx, open_session
from nasvl.tracking.calibration import calibration_feeds
from tests.deploy.conftest import make_export


@pytest.fixture(scope="module")
def int8_export(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, np.ndarray]]]:
    export = make_export("tiny.yaml", "sample", tmp_path_factory.mktemp("int8") / "export")
    export_onnx(export)
    feeds = calibration_feeds(export)
    export_onnx(export, int8=True, calibration=feeds[:-4])
    return export, feeds[-4:]  # the last feeds were not calibrated on


def test_the_head_prediction_convs_stay_fp32_and_the_rest_is_integer(int8_export) -> None:  # noqa: ANN001
    export, _ = int8_export
    graph = onnx.load(str(export / "onnx" / INT8_FILE)).graph
    float_convs = {n.name for n in graph.node if n.op_type == "Conv"}
    # A QDQ graph keeps its quantised convs as Conv nodes whose weights come out of a DequantizeLinear
    # (onnxruntime fuses them into integer kernels); an fp32 conv reads its float weights directly.
    dequantized = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    integer = {n.name for n in graph.node if n.op_type == "Conv" and n.input[1] in dequantized}
    assert {"/head/cls_logits/Conv", "/head/centerness/Conv", "/head/ltrb/Conv"} == float_convs - integer
    assert len(integer) > 10  # every backbone, neck and tower conv
    manifest = json.loads((export / "onnx" / "manifest.json").read_text())
    assert manifest["int8"]["optimization"] == INT8_OPTIMIZATION == "extended"


def test_int8_outputs_follow_fp32_on_crops_it_was_not_calibrated_on(int8_export) -> None:  # noqa: ANN001
    export, held_out = int8_export
    folder = export / "onnx"
    fp32, int8 = open_session(folder, "search.onnx", 1), open_session(folder, INT8_FILE, 1, INT8_OPTIMIZATION)
    names = [o.name for o in fp32.get_outputs()]
    inputs = {i.name for i in fp32.get_inputs()}
    for feed in held_out:
        feed = {k: v for k, v in feed.items() if k in inputs}
        want = dict(zip(names, fp32.run(names, feed), strict=True))
        got = dict(zip(names, int8.run(names, feed), strict=True))
        for name in names:
            # Quantisation noise, not a different function: the maps correlate, errors are small against their range.
            a, b = want[name].ravel(), got[name].ravel()
            assert np.corrcoef(a, b)[0, 1] > 0.9, name
            assert np.abs(a - b).mean() < 0.1 * (np.ptp(a) + 1e-6), name


def test_sessions_do_not_spin_between_frames(int8_export) -> None:  # noqa: ANN001
    # A spinning onnxruntime pool takes the CPU from the tracker's crop and decoding between frames.
    export, _ = int8_export
    options = open_session(export / "onnx", "search.onnx", 2).get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
