"""int8 per-frame graph: onnxruntime static quantisation, calibrated on real search crops.

Calibration feeds are the search graph's inputs (search crop + template state) recorded while
the fp32 ONNX tracker follows training videos (`nasvl.tracking.calibration`): crops and template
states of the distribution the tracker will meet, not random tensors. Weights are int8 per output channel, activations
uint8 per tensor (MinMax ranges), in QDQ form, which onnxruntime fuses into integer kernels.
Only the search graph is quantised: the template graph runs once per video.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from nasvl.config.limits import CALIBRATION_FEEDS

Feed = dict[str, np.ndarray]
KEEP_FP32 = ("Resize", "Exp")
# int8 graphs load at EXTENDED, without onnxruntime's NHWC transformer (ENABLE_ALL): in NHWC the
# ShuffleNet channel split (every other channel, `ops/shufflenet.py`) is a byte-strided Slice that
# took 14 of 43 ms of the paper CAND's int8 frame, more than the NHWC convolutions save (33 ms
# without it; BENCHMARKS.md, issue 17). It also refuses a bicubic downscale between int8 convs.
INT8_OPTIMIZATION = "extended"


class _Reader:
    """onnxruntime's CalibrationDataReader protocol over recorded feeds."""

    def __init__(self, feeds: list[Feed], inputs: set[str]) -> None:
        self._it: Iterator[Feed] = iter([{k: v for k, v in f.items() if k in inputs} for f in feeds])

    def get_next(self) -> Feed | None:
        return next(self._it, None)

    def rewind(self) -> None:  # some onnxruntime versions call it
        pass


def _prediction_convs(graph: Any) -> list[str]:
    """The last convolution before each graph output (the head's cls / centerness / box layers).

    They stay fp32: a few output channels each, so almost no time, and their rounding lands
    directly on the scores and boxes the tracker decodes."""
    producer = {out: node for node in graph.node for out in node.output}
    names: list[str] = []
    for output in graph.output:
        node = producer.get(output.name)
        while node is not None and node.op_type != "Conv" and node.input:
            node = producer.get(node.input[0])
        if node is not None and node.op_type == "Conv":
            names.append(node.name)
    return names


def quantize_graph(src: Path, dst: Path, feeds: list[Feed], workdir: Path, *,
                   prediction_fp32: bool = False) -> dict[str, Any]:
    """Write the int8 version of the graph `src` (a search graph, or one op's for the latency table) to
    `dst`, calibrated on `feeds`; the manifest's `int8` entry. `prediction_fp32` (a tracker's search
    graph) keeps `_prediction_convs` in fp32."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    feeds = feeds[:CALIBRATION_FEEDS.value]
    pre = workdir / f"{src.stem}.pre.onnx"
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    inputs = {i.name for i in ort.InferenceSession(str(pre), providers=["CPUExecutionProvider"]).get_inputs()}
    import onnx

    # onnxruntime's integer Resize rejects a bicubic downscale (a plugin head's; nasvl's own heads
    # resize by matrix products, trackers/scar_head.py); exp() of the ltrb map needs fp32 range.
    # Both stay fp32 (a few kFLOP of the frame's GFLOPs).
    graph = onnx.load(str(pre)).graph
    keep = [n.name for n in graph.node if n.op_type in KEEP_FP32]
    if prediction_fp32:
        keep += _prediction_convs(graph)
    quantize_static(str(pre), str(dst), _Reader(feeds, inputs), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=keep,
                    extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
    return {"file": dst.name, "calibration_feeds": len(feeds), "optimization": INT8_OPTIMIZATION,
            "method": "static QDQ, MinMax, per-channel int8 weights, uint8 activations"}
