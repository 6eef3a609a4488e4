"""Multi-fidelity evaluation: cheap rungs before the full validation set (asynchronous successive halving).

    search:
      eval: {max_videos: 40, max_frames: 60}          # the full rung: what the search ranks on
      rungs:                                          # cheaper rungs first, each promoting a fraction
        - {max_videos: 5, max_frames: 30, promote: 0.25}

Every candidate a strategy proposes is scored on rung 0 first. A rung-r score promotes the candidate
to rung r+1 when it is within the best `promote` fraction of all rung-r scores so far (ASHA's rule,
Li et al. 2020: decided as each result arrives, so parallel workers never wait for a rung to fill).
Only scores from the last rung (the search's `eval`) are told to the strategy as results; a candidate
that stops early is told as "stopped at rung r", which no strategy ranks or breeds from.

Why not Ray Tune's ASHA scheduler: a Tune scheduler stops a *running* trial between the results it
reports, keeping the promotion decision in Tune's own (pickled) state. Here one Tune trial is one
evaluation of one candidate, and the searcher must own every decision in `search_state.json` so that
a killed driver resumes without losing or repeating an evaluation (see `StrategySearcher`). So the
rungs live in the searcher: a promotion is a new Tune trial of the same candidate at the next rung,
recorded before it is queued.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from nasvl.search.evaluator import EvalConfig


@dataclass(frozen=True)
class Rung:
    max_videos: int | None = None   # None: the full rung's
    max_frames: int | None = None
    promote: float = 0.5            # fraction of this rung's scores that climb to the next rung

    def eval_config(self, full: EvalConfig) -> EvalConfig:
        return dataclasses.replace(full, max_videos=self.max_videos or full.max_videos,
                                   max_frames=self.max_frames or full.max_frames)


def rung_config(rungs: tuple[Rung, ...], rung: int, full: EvalConfig) -> EvalConfig:
    """The evaluation settings of `rung` (0-based; the last rung, len(rungs), is `full`)."""
    return full if rung >= len(rungs) else rungs[rung].eval_config(full)


def promoted(score: float, scores: list[float], fraction: float) -> bool:
    """ASHA's rule: `score` (already in `scores`) is among the top ceil(fraction * n) of the rung so far.

    A failed evaluation (NaN) never climbs. Ties at the cut promote (deterministic: no order needed).
    """
    if math.isnan(score):
        return False
    ok = sorted((s for s in scores if not math.isnan(s)), reverse=True)
    keep = max(1, math.ceil(fraction * len(ok)))
    return score >= ok[keep - 1]
