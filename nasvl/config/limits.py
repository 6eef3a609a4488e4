"""Every size a file or a flag can ask for has an upper bound, and this module holds them all.

A hostile or mistaken input (`depth: 100000000`, `train_workers: 100000`, a 30000×30000 frame) must be
refused at validation with a message that names the limit, not discovered later as a hang or a
128 GB allocation. Each bound is a `Limit`; a user with a real need raises one with the environment
variable the message names (`NASVL_LIMIT_<NAME>=N`), so nothing is hard-coded out of reach.

Limits are grouped by the part of nasvl that checks them; add new ones to the matching section.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from nasvl.errors import ConfigError

LIMITS: dict[str, Limit] = {}


@dataclass(frozen=True)
class Limit:
    name: str          # lower_snake; the environment variable is NASVL_LIMIT_<NAME>
    default: int
    what: str          # what is counted, for the message: "layers in one stage"

    def __post_init__(self) -> None:
        if self.name in LIMITS:
            raise ValueError(f"limit {self.name!r} is defined twice")
        LIMITS[self.name] = self

    @property
    def env(self) -> str:
        return f"NASVL_LIMIT_{self.name.upper()}"

    @property
    def value(self) -> int:
        raw = os.environ.get(self.env)
        if raw is None:
            return self.default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{self.env}={raw!r} is not an integer") from None
        if value < 1:
            raise ConfigError(f"{self.env}={value} must be a positive integer")
        return value

    def message(self, value: Any) -> str:
        return f"{value} exceeds the limit of {self.value} {self.what} (raise it with {self.env}=N)"

    def check(self, value: int | float, *, file: str | None = None, line: int | None = None,
              path: str = "") -> None:
        """Raise a located ConfigError when `value` is over the limit."""
        if value > self.value:
            raise ConfigError(self.message(value), file=file, line=line, path=path)


def bounded(limit: Limit, default: Any = dataclasses.MISSING, *, minimum: int | float | None = None) -> Any:
    """A dataclass field whose parsed value `parse_dataclass` checks against `limit` (and `minimum`)."""
    meta = {"limit": limit, "minimum": minimum}
    if isinstance(default, list | dict | set):
        raise TypeError("use a default_factory for mutable defaults")
    return dataclasses.field(default=default, metadata=meta)


# ---- YAML documents (nasvl/config/yamldoc.py) --------------------------------------------------
YAML_BYTES = Limit("yaml_bytes", 1 << 20, "bytes in one YAML document")
YAML_NODES = Limit("yaml_nodes", 20_000, "YAML nodes in one document")
YAML_ALIASES = Limit("yaml_aliases", 1_000, "YAML alias uses in one document")
YAML_DEPTH = Limit("yaml_depth", 64, "levels of YAML nesting")
INT_DIGITS = Limit("int_digits", 19, "digits in one integer")

# ---- search spaces and architectures (nasvl/space, nasvl/cost) ---------------------------------
# Defaults sit far above real research spaces (the paper's: 2 branches, 4 stages, depth <= 8,
# <= 640 channels, inputs 127/255, 56 blocks of <= 4 ops, about 7 M activations per image).
SPACE_BRANCHES = Limit("space_branches", 8, "branches in one space")
SPACE_STAGES = Limit("space_stages", 32, "stages in one backbone")
SPACE_DEPTH = Limit("space_depth", 64, "layers in one stage")
SPACE_CHANNELS = Limit("space_channels", 4096, "channels in one stage or stem")
SPACE_KERNEL = Limit("space_kernel", 31, "pixels of kernel size")
SPACE_INPUT = Limit("space_input", 1024, "pixels of branch input size")
SPACE_LANGUAGE_DIM = Limit("space_language_dim", 4096, "language embedding dimensions")
SPACE_OPS = Limit("space_ops", 32, "candidate ops for one block")
SPACE_BLOCKS = Limit("space_blocks", 1024, "blocks (layers and mixer blocks of all branches) in one space")
SPACE_TIES = Limit("space_ties", 128, "tie patterns in one space")
SPACE_ENUMERATE = Limit("space_enumerate", 100_000, "architectures enumerated from one space")
# Estimates computed from the YAML alone, so `arch cost` and the supernet builder never try to
# allocate what no machine has: weights ~ sum over blocks of options x max(in, out)^2, and
# activations ~ sum over every layer of both branches of channels x height x width (batch 1).
SPACE_SUPERNET_PARAMS = Limit("space_supernet_params", 2_000_000_000, "estimated supernet weights")
SPACE_ACTIVATIONS = Limit("space_activations", 250_000_000, "estimated activation values for one sample")

# ---- jobs, training, search and CLI flags (nasvl/jobs, nasvl/train, nasvl/search, nasvl/cli) -----
TRAIN_STEPS = Limit("train_steps", 100_000_000, "training steps")
SANDWICH_PATHS = Limit("sandwich_paths", 64, "random paths per sandwich-rule training step")
BATCH_SIZE = Limit("batch_size", 4_096, "samples in one batch")
LOADER_WORKERS = Limit("loader_workers", 256, "DataLoader worker processes")
THREADS = Limit("threads", 1_024, "threads")
TRAIN_WORKERS = Limit("train_workers", 1_024, "Ray Train workers")
TRIALS_IN_PARALLEL = Limit("trials_in_parallel", 1_024, "search trials in parallel")
TRIAL_RESOURCES = Limit("trial_resources", 1_024, "CPUs or GPUs for one search trial")
TRIAL_RETRIES = Limit("trial_retries", 1_000, "retries of one search trial")
SEARCH_BUDGET = Limit("search_budget", 1_000_000, "architectures one search evaluates")
PAIRS_PER_EPOCH = Limit("pairs_per_epoch", 100_000_000, "training pairs per epoch")
RECALIBRATION_BATCHES = Limit("recalibration_batches", 10_000, "BN recalibration batches")
REPEATS = Limit("latency_repeats", 10_000, "latency measurement repeats")
CHECKPOINTS_KEPT = Limit("checkpoints_kept", 10_000, "checkpoints kept")
EXPORT_TOP = Limit("export_top", 1_000, "exported architectures")
SYNTH_VIDEOS = Limit("synth_videos", 100_000, "synthetic videos")
SYNTH_FRAMES = Limit("synth_frames", 100_000, "frames in one synthetic video")
JOB_VIDEOS = Limit("job_videos", 1_000_000, "videos evaluated from one dataset")
JOB_FRAMES = Limit("job_frames", 10_000_000, "frames tracked in one video")

# ---- datasets, frames, results, exports and checkpoints (nasvl/data, nasvl/metrics, nasvl/export) --
# A frame is refused from its header, before decoding: 8192×8192 is twice 8K video; decoded BGR it is 192 MB.
FRAME_PIXELS = Limit("frame_pixels", 8192 * 8192, "pixels in one frame")
FRAME_BYTES = Limit("frame_bytes", 64 << 20, "bytes in one frame file")
# LaSOT's longest video has 11,397 frames; COCO-style sets make one video per annotation (860k in COCO 2017).
VIDEO_FRAMES = Limit("video_frames", 100_000, "frames in one video")
DATASET_VIDEOS = Limit("dataset_videos", 1_000_000, "videos in one dataset")
DESCRIPTION_CHARS = Limit("description_chars", 2_000, "characters in one target description")
EXPORT_MANIFEST_BYTES = Limit("export_manifest_bytes", 4 << 20, "bytes in an export's manifest.json or arch.yaml")
# safetensors' own reader allows a 100 MB header; a real subnet's header is a few tens of kB.
SAFETENSORS_HEADER_BYTES = Limit("safetensors_header_bytes", 16 << 20, "bytes in a safetensors header")
# The paper-CAND tracker's graphs are ~10 MB, a ResNet-50 SiamCAR's ~100 MB; protobuf itself stops at 2 GB.
ONNX_MODEL_BYTES = Limit("onnx_model_bytes", 1 << 30, "bytes in one ONNX graph of an export")
# int8 calibration keeps every search-graph feed in memory (~1 MB each for a 255 crop and its template state).
CALIBRATION_FEEDS = Limit("calibration_feeds", 2_000, "int8 calibration samples (search crops)")

# ---- search run folders (nasvl/search/records.py) -------------------------------------------------
# search_state.json holds every trial of a search (about 1 kB each): 256 MiB is ~250k evaluations.
RUN_RECORDS_BYTES = Limit("run_records_bytes", 256 << 20, "bytes in a search's records (search_state.json)")
