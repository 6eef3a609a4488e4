"""How one supernet training step trains: which paths, which losses, which parameters move.

Three options of `train:`, each off by default (BENCHMARKS.md, "Supernet training options and
ranking fidelity", says what they measured):

    sandwich: {random: 2}          # largest + smallest + 2 random paths per step (nasvl/train/sampling.py)
    distill: {weight: 1.0}         # in-place distillation from the largest path (nasvl/train/distill.py)
    shared_warmup: {steps: 200, groups: [stem, fixed, language, head]}

`shared_warmup` trains only the *shared layers* for its first `steps` steps. The shared layers
are the parameters every path of the space runs, whatever it samples (`SHARED_GROUPS`):

* `stem`     — the stems;
* `fixed`    — the ops of blocks with a single option (the space fixes them);
* `language` — the mixers' language projections and the template embedders (not their searched
               pre/post blocks);
* `head`     — the tracker head with its necks.

The searched ops (`choices`: a block's candidate ops when it has several) keep their weights
while the shared layers settle, so the head does not first fit the features of whichever ops
the first few random paths happened to pick. Forward passes still sample paths as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from nasvl.config import Node
from nasvl.config.limits import TRAIN_STEPS, bounded
from nasvl.errors import NasvlError
from nasvl.space import Architecture
from nasvl.supernet.network import ChoiceLayer, Network
from nasvl.train.distill import DEFAULT_OUTPUTS, DistillConfig, distill_loss

Group = Literal["stem", "fixed", "language", "head"]
SHARED_GROUPS: tuple[Group, ...] = ("stem", "fixed", "language", "head")


@dataclass(frozen=True)
class SharedWarmupConfig:
    steps: int = bounded(TRAIN_STEPS, minimum=1)
    groups: tuple[Group, ...] = SHARED_GROUPS


def check_recipe(cfg: object, train: Node) -> None:
    """Rules between the options that their types cannot express; errors name the YAML path."""
    distill, sandwich, warmup = (getattr(cfg, k) for k in ("distill", "sandwich", "shared_warmup"))
    if distill is not None:
        if sandwich is None:
            raise train.child("distill").error("in-place distillation needs the sandwich rule (its largest path "
                                               "is the teacher): add 'sandwich: {random: N}'")
        if not distill.weight > 0:
            raise train.child("distill").get("weight").error(f"must be > 0, got {distill.weight}")
    if warmup is not None:
        if not warmup.groups:
            raise train.child("shared_warmup").get("groups").error(
                f"must name at least one of {', '.join(SHARED_GROUPS)}")
        if len(set(warmup.groups)) != len(warmup.groups):
            raise train.child("shared_warmup").get("groups").error(f"lists a group twice: {list(warmup.groups)}")


def parameter_groups(net: Network) -> dict[str, list[torch.nn.Parameter]]:
    """Every parameter in one group: the shared groups of the module docstring, and `choices`."""
    out: dict[str, list[torch.nn.Parameter]] = {g: [] for g in (*SHARED_GROUPS, "choices")}
    seen: set[int] = set()

    def add(group: str, module: torch.nn.Module | None) -> None:
        for p in module.parameters() if module is not None else ():
            if id(p) not in seen:
                seen.add(id(p))
                out[group].append(p)

    # Searched and fixed blocks first, so a mixer's pre/post layers do not count as `language`.
    for module in net.modules():
        if isinstance(module, ChoiceLayer):
            add("fixed" if len(module.ops) == 1 else "choices", module)
    add("stem", net.stems)
    add("language", net.mixers)
    add("language", net.template_embedders)
    add("head", net.head)
    missing = [n for n, p in net.named_parameters() if id(p) not in seen]
    if missing:  # a new kind of module must be placed in a group deliberately
        raise NasvlError(f"shared_warmup: parameters in no group: {', '.join(missing[:5])}")
    return out


class StepRecipe:
    """Runs the paths of one step: forward, loss (plus distillation), backward, and warm-up masking."""

    def __init__(self, net: Network, distill: DistillConfig | None, warmup: SharedWarmupConfig | None) -> None:
        self.distill, self.warmup = distill, warmup
        self.kinds = getattr(net.plugin, "distill_outputs", DEFAULT_OUTPUTS)
        self._frozen: list[torch.nn.Parameter] = []
        if warmup is not None:
            groups = parameter_groups(net)
            keep = {id(p) for g in warmup.groups for p in groups[g]}
            self._frozen = [p for p in net.parameters() if id(p) not in keep]

    def run(self, paths: Sequence[Architecture],
            forward: Callable[[Architecture], dict[str, torch.Tensor]],
            loss: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]],
            backward: Callable[[torch.Tensor], None]) -> dict[str, float]:
        """Accumulate every path's gradients; returns the losses to log.

        One path: exactly the plain step (its plugin losses). Several (sandwich): the first path's
        plugin losses, `total` summed over paths and `distill` summed over the students.
        """
        teacher: dict[str, torch.Tensor] | None = None
        logged: dict[str, float] = {}
        total_sum, distilled = 0.0, 0.0
        for i, arch in enumerate(paths):
            outputs = forward(arch)
            losses = loss(outputs)
            total = losses["total"]
            if teacher is not None and self.distill is not None:
                kd = distill_loss(outputs, teacher, self.kinds)
                total = total + self.distill.weight * kd
                distilled += float(kd.detach())
            backward(total)
            total_sum += float(total.detach())
            if i == 0:
                logged = {k: float(v.detach()) for k, v in losses.items()}
                if self.distill is not None:
                    teacher = {k: v.detach() for k, v in outputs.items()}
        if len(paths) > 1:
            logged["total"] = total_sum
            if self.distill is not None:
                logged["distill"] = distilled
        return logged

    def mask_gradients(self, step: int) -> None:
        """During the shared warm-up, drop the gradients of everything but the warm-up groups
        (a None gradient also keeps weight decay and momentum off those parameters)."""
        if self.warmup is not None and step < self.warmup.steps:
            for p in self._frozen:
                p.grad = None
