"""A search run folder with planted supernet scores, written through the real `StrategySearcher`.

The fidelity command reads only what a search leaves (search.json, search_state.json); planting the
scores makes the expected ranking known without paying for a Ray search.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from nasvl.io import atomic_write_json
from nasvl.search.result import TrialResult
from nasvl.search.tune import StrategySearcher


def planted_search(spec, ckpt: Path, run_dir: Path, scores: list[float]) -> list[dict[str, str]]:
    """Propose len(scores) random architectures and tell them `scores` in order; returns their archs."""
    from nasvl.train.loop import supernet_from_checkpoint

    space = supernet_from_checkpoint(ckpt)[0].space
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run_dir / "search.json", {
        "config": json.loads(json.dumps(dataclasses.asdict(spec), default=str)),
        "supernet": str(Path(ckpt).resolve()), "space_name": space.name, "space_hash": space.hash})
    searcher = StrategySearcher("random", space.raw, 0, {"budget": len(scores)}, run_dir=str(run_dir))
    archs = []
    for i, score in enumerate(scores):
        config = searcher.suggest(f"t{i}")
        archs.append(config["arch"])
        searcher.strategy.tell(config["nasvl_trial"], TrialResult(suc=score))
    searcher.persist()
    return archs
