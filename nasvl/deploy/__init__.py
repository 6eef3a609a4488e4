"""Deployment forms of an exported tracker: the folded torch inference form, ONNX graphs, int8.

`runtimes.RUNTIMES` names every way to run a tracker's network (`torch`, `torch-plain`, `onnx`,
`onnx-int8`); `build_tracker(..., runtime=...)`, `nasvl track --runtime`, the latency table and
`nasvl bench tracker` all take these names.
"""

from __future__ import annotations
