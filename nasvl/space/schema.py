"""The parsed, frozen form of a search space.

A space is a list of *slots*: every backbone layer of every branch and every
ModaMixer pre/post block. A slot with one option is fixed; the others are
`ChoiceBlock`s. Ties make a block copy another block's decision, so only the
*free* blocks (untied, ≥ 2 options) are decided by sampling or search.

Block paths:
  ``<branch>.<stage>.<layer>``   backbone layer, e.g. ``search.stage3.0``
  ``<branch>.<stage>.pre``       ModaMixer block on the pure-vision feature
  ``<branch>.<stage>.post``      ModaMixer block on the language-mixed feature
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from nasvl.config.limits import SPACE_ENUMERATE
from nasvl.errors import ConfigError, known
from nasvl.ops.registry import OpSpec

BlockKind = Literal["layer", "pre", "post"]


@dataclass(frozen=True)
class StemSpec:
    channels: int
    kernel: int = 3
    stride: int = 2


@dataclass(frozen=True)
class StageSpec:
    name: str
    channels: int
    depth: int
    stride: int
    projection: bool
    out_stride: int  # total stride of this stage's output w.r.t. the input image


@dataclass(frozen=True)
class ChoiceBlock:
    path: str
    branch: str
    stage: str
    kind: BlockKind
    index: int | None
    options: tuple[str, ...]
    in_channels: int
    out_channels: int
    stride: int = 1
    projection: bool = False
    leader: str | None = None  # root block whose decision this one copies

    @property
    def fixed(self) -> bool:
        return len(self.options) == 1

    @property
    def free(self) -> bool:
        return self.leader is None and not self.fixed

    def op_spec(self, affine: bool = False) -> OpSpec:
        return OpSpec(self.in_channels, self.out_channels, self.stride, self.projection, affine)


@dataclass(frozen=True)
class MixerSpec:
    """ModaMixer layout.

    placement `after`: the mixer follows the stage's last layer, with searched pre and post blocks.
    placement `last_layer` (official VLT): the stage's last backbone layer plays *pre*, in parallel
    with post on the second-to-last layer's output, f = L_last(h) + Post(Proj(f_l) ⊙ h); no pre slots.
    shared: one post block set and one language projection per stage serve every branch.
    projection: `linear` (Linear d→C) or `conv_bn` (official token_map: 1×1 conv without bias + BN).
    template_token: the no-description fallback; `pooled` (ROI-pooled at the stage's stride, projected to
    d) or `official` (SOTS vistoken_layers: 3×3 ROI-Align at the network stride, conv3×3+BN+LeakyReLU,
    used directly as the channel selector).
    language_norm: `none` (paper) or, beyond the paper, `center` / `standardize` the sentence
    embeddings against the training vocabulary (`nasvl.supernet.mixer.LanguageNorm`).
    """

    stages: tuple[str, ...]
    language_dim: int
    placement: Literal["after", "last_layer"] = "after"
    shared: bool = False
    projection: Literal["linear", "conv_bn"] = "linear"
    template_token: Literal["pooled", "official"] = "pooled"
    language_norm: Literal["none", "center", "standardize"] = "none"


@dataclass(frozen=True)
class TrackerSpec:
    name: str
    options: Any  # the plugin's frozen Options dataclass


@dataclass(frozen=True)
class Constraints:
    max_params: int | None = None
    max_macs: int | None = None
    max_latency_ms: float | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.max_params, self.max_macs, self.max_latency_ms))


@dataclass(frozen=True)
class SearchSpace:
    name: str
    file: str
    branches: tuple[str, ...]
    inputs: tuple[tuple[str, int], ...]
    share_weights: bool
    stem: StemSpec
    stages: tuple[StageSpec, ...]
    slots: tuple[ChoiceBlock, ...]
    mixer: MixerSpec | None
    tracker: TrackerSpec | None
    constraints: Constraints
    hash: str
    raw: dict[str, Any] = field(compare=False, hash=False, repr=False)

    # ---- lookup -------------------------------------------------------------------------
    @functools.cached_property
    def _index(self) -> dict[str, ChoiceBlock]:
        # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass.
        return {s.path: s for s in self.slots}

    @property
    def blocks(self) -> tuple[ChoiceBlock, ...]:
        """Every choice block (tied ones included), in canonical order."""
        return tuple(s for s in self.slots if not s.fixed)

    @property
    def free_blocks(self) -> tuple[ChoiceBlock, ...]:
        return tuple(s for s in self.slots if s.free)

    def slot(self, path: str) -> ChoiceBlock:
        index = _slot_index(self)
        if path not in index:
            raise ConfigError(f"{self.file}: no block {path!r} in space {self.name!r}")
        return index[path]

    def input_size(self, branch: str) -> int:
        return dict(self.inputs)[branch]

    def stage(self, name: str) -> StageSpec:
        for st in self.stages:
            if st.name == name:
                return st
        raise ConfigError(f"no stage {name!r} {known(s.name for s in self.stages)}")

    @property
    def size(self) -> int:
        """Exact number of distinct architectures (Python int: the paper's space is 4**48)."""
        return math.prod(len(b.options) for b in self.free_blocks)

    @property
    def size_text(self) -> str:
        """`size` for people: exact, or `about 10^N` past Python's int-to-text digit limit (raised limits)."""
        log10 = sum(math.log10(len(b.options)) for b in self.free_blocks)
        return str(self.size) if log10 < 4000 else f"about 10^{log10:.0f}"

    # ---- architectures ------------------------------------------------------------------
    def arch(self, choices: Mapping[str, str]) -> Architecture:
        """Validate a full or free-only mapping, apply ties, and return the canonical Architecture."""
        from nasvl.space.arch import Architecture

        index = _slot_index(self)
        for path, op in choices.items():
            if path not in index:
                raise ConfigError(f"unknown block {path!r} in space {self.name!r}")
            slot = index[path]
            if op not in slot.options:
                raise ConfigError(f"{path}: op {op!r} is not an option {known(slot.options)}")
        out: dict[str, str] = {}
        for block in self.blocks:
            root = block.leader or block.path
            if root not in choices:
                raise ConfigError(f"architecture misses block {root!r}")
            out[block.path] = choices[root]
            if block.leader and block.path in choices and choices[block.path] != choices[root]:
                raise ConfigError(
                    f"{block.path}: chose {choices[block.path]!r} but is tied to {root} ({choices[root]!r})"
                )
        return Architecture(tuple(out.items()))

    def resolve(self, arch: Mapping[str, str]) -> dict[str, str]:
        """The op of every slot, fixed ones included."""
        return {s.path: (s.options[0] if s.fixed else arch[s.path]) for s in self.slots}

    def sample(self, rng: random.Random) -> Architecture:
        """Uniform and independent per free block; tied blocks follow their leader."""
        return self.arch({b.path: rng.choice(b.options) for b in self.free_blocks})

    def enumerate(self, limit: int | None = None) -> Iterator[Architecture]:
        """Every architecture; refused (before the first) when there are more than `limit` or SPACE_ENUMERATE."""
        if limit is not None and self.size > limit:
            raise ConfigError(f"space {self.name!r} has {self.size_text} architectures; enumerate() allows {limit}",
                              file=self.file)
        if self.size > SPACE_ENUMERATE.value:
            raise ConfigError(SPACE_ENUMERATE.message(self.size_text), file=self.file)
        import itertools

        free = self.free_blocks
        for combo in itertools.product(*(b.options for b in free)):
            yield self.arch(dict(zip((b.path for b in free), combo, strict=True)))

    def mutate(self, arch: Architecture, rng: random.Random, prob: float = 0.1) -> Architecture:
        """Re-draw each free block with probability `prob` (SPOS mutation)."""
        choices = {b.path: (rng.choice(b.options) if rng.random() < prob else arch[b.path]) for b in self.free_blocks}
        return self.arch(choices)

    def crossover(self, a: Architecture, b: Architecture, rng: random.Random) -> Architecture:
        """Take each free block from either parent with equal probability (SPOS crossover)."""
        return self.arch({blk.path: (a if rng.random() < 0.5 else b)[blk.path] for blk in self.free_blocks})

    def free_choices(self, arch: Architecture) -> dict[str, str]:
        return {b.path: arch[b.path] for b in self.free_blocks}


def _slot_index(space: SearchSpace) -> dict[str, ChoiceBlock]:
    return space._index




# Imported late: arch.py needs SearchSpace for typing only.
from nasvl.space.arch import Architecture  # noqa: E402
