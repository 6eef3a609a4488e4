"""Search configuration (a file, or a job's `search` step).

    name: tiny_search
    val: {root: data/synth/val, format: lasot}        # videos that score candidates
    pairs: {sources: [...]}                           # training pairs for BN recalibration
    language: {model: minilm}
    search:
      strategy: spos_evolution
      options: {population: 16, generations: 4}
      strategy_options:                               # options of the other strategies, used when the
        random: {budget: 48}                          #   command line picks one (--strategy random)
      objectives: [suc]          # or [suc, latency_ms] / [suc, macs]: the strategy, live table, export --pareto
      trials_in_parallel: 2                           # concurrent Tune trials (workers)
      cpus_per_trial: 1
      gpus_per_trial: 0                               # a fraction lets trials share a GPU
      max_failures: 2                                 # retries of a failed/killed trial
      eval: {max_frames: 60, recalibration_batches: 8}
      rungs: [{max_videos: 2, max_frames: 20, promote: 0.25}]   # multi-fidelity (nasvl.search.rungs)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nasvl.config import Node, load_yaml, parse_dataclass
from nasvl.config.limits import (
    BATCH_SIZE,
    EXPORT_TOP,
    JOB_FRAMES,
    JOB_VIDEOS,
    RECALIBRATION_BATCHES,
    REPEATS,
    THREADS,
    TRAIN_STEPS,
    TRIAL_RESOURCES,
    TRIAL_RETRIES,
    TRIALS_IN_PARALLEL,
    Limit,
    bounded,
)
from nasvl.config.paths import resolve_str
from nasvl.data.pairs.mixing import PairsConfig, parse_pairs_config
from nasvl.data.registry import check_format
from nasvl.errors import ConfigError
from nasvl.search.evaluator import EvalConfig
from nasvl.search.result import DEFAULT_OBJECTIVES, objectives_problem
from nasvl.search.rungs import Rung
from nasvl.search.strategy import STRATEGIES
from nasvl.train.config import LanguageConfig, absolute_language, absolute_sources, check_pairs_size


@dataclass(frozen=True)
class ValConfig:
    root: str
    format: str = "lasot"
    split: str | None = None


@dataclass(frozen=True)
class SearchConfig:
    strategy: str = "spos_evolution"
    options: dict[str, Any] = field(default_factory=dict)
    # Options for strategies other than `strategy`: `--strategy X` takes X's from here, so switching
    # strategy on the command line never drops what the file says about X.
    strategy_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    seed: int = 0
    objectives: tuple[str, ...] = DEFAULT_OBJECTIVES
    trials_in_parallel: int = bounded(TRIALS_IN_PARALLEL, 1, minimum=1)
    cpus_per_trial: float = bounded(TRIAL_RESOURCES, 1.0, minimum=0)
    gpus_per_trial: float = bounded(TRIAL_RESOURCES, 0.0, minimum=0)
    max_failures: int = bounded(TRIAL_RETRIES, 2, minimum=0)  # -1 (retry forever) would hang on a bad trial
    eval: EvalConfig = field(default_factory=EvalConfig)
    rungs: tuple[Rung, ...] = ()  # cheap rungs before `eval`, cheapest first (multi-fidelity)


@dataclass(frozen=True)
class FidelitySpec:
    """A job's optional `fidelity:` step (`nasvl search fidelity`, see `nasvl.search.fidelity`)."""

    k: int = bounded(EXPORT_TOP, 8, minimum=2)             # architectures trained stand-alone
    train_steps: int = bounded(TRAIN_STEPS, 200, minimum=1)  # the same budget for each
    init: Literal["scratch", "inherited"] = "scratch"


@dataclass(frozen=True)
class SearchSpec:
    name: str
    val: ValConfig
    pairs: PairsConfig | None
    language: LanguageConfig
    search: SearchConfig
    file: str = ""


def parse_search_spec(node: Node, *, source: str | Path | None = None) -> SearchSpec:
    node.check_keys({"name", "val", "pairs", "language", "search"}, {"name", "val", "search"})
    pairs = node.child("pairs") if "pairs" in node.mapping() else None
    return search_spec_from_nodes(node.child("name").as_str(), node.child("val"), pairs,
                                  node.get("language", {}), node.child("search"), source=source)


def search_spec_from_nodes(name: str, val_node: Node, pairs_node: Node | None, language: Node,
                           s: Node, *, source: str | Path | None = None) -> SearchSpec:
    """Every path comes out absolute (`nasvl.config.paths`); `source` is the YAML file's real path."""
    source = source if source is not None else s.doc.file
    val = parse_dataclass(ValConfig, val_node)
    val = dataclasses.replace(val, root=resolve_str(val.root, source))
    check_format(val_node)
    search = parse_dataclass(SearchConfig, s)
    if search.strategy not in STRATEGIES:
        raise s.child("strategy").error(f"unknown strategy {search.strategy!r} (known: "
                                        f"{', '.join(STRATEGIES.names())})")
    for name in search.strategy_options:
        if name not in STRATEGIES:
            raise s.child("strategy_options").child(name).error(
                f"unknown strategy {name!r} (known: {', '.join(STRATEGIES.names())})")
    if search.strategy in search.strategy_options and search.options:
        raise s.child("strategy_options").child(search.strategy).error(
            f"options for {search.strategy!r} are also given under search.options; give them in one place")
    problem = objectives_problem(search.objectives)
    if problem:
        at, why = problem
        node = s.child("objectives")
        raise (node if at is None else node.child(at)).error(why)
    if search.cpus_per_trial == 0 and search.gpus_per_trial == 0:
        raise s.child("cpus_per_trial").error("a trial needs some CPU or GPU (cpus_per_trial or gpus_per_trial > 0)")
    _check_eval(search.eval, s.get("eval", {}))
    _check_rungs(search, s)
    pairs = None
    if pairs_node is not None:
        pairs = parse_pairs_config(pairs_node)
        check_pairs_size(pairs, pairs_node)
        pairs = absolute_sources(pairs, source)
    return SearchSpec(name, val, pairs, absolute_language(parse_dataclass(LanguageConfig, language), source),
                      search, s.doc.file)


def with_strategy(search: SearchConfig, name: str) -> tuple[SearchConfig, str | None]:
    """`search` switched to strategy `name` with the options the file gives for it.

    Returns the new config and a note for the user when the file gives no options for `name`
    (its defaults then apply: say so rather than silently running e.g. random's budget of 1000).
    """
    if name not in STRATEGIES:
        raise ConfigError(f"--strategy: unknown strategy {name!r} (known: {', '.join(STRATEGIES.names())})")
    if name in search.strategy_options:
        options = dict(search.strategy_options[name])
    elif name == search.strategy:
        options = dict(search.options)
    else:
        options = {}
    note = None
    if not options and name != search.strategy:
        note = (f"strategy {name!r}: the config gives no options for it (search.strategy_options.{name}); "
                "using its defaults")
    return dataclasses.replace(search, strategy=name, options=options), note


# EvalConfig lives with the evaluator; its sizes are bounded here, where the search file is parsed.
_EVAL_BOUNDS: dict[str, tuple[Limit, int]] = {
    "recalibration_batches": (RECALIBRATION_BATCHES, 0), "recalibration_batch_size": (BATCH_SIZE, 1),
    "max_frames": (JOB_FRAMES, 1), "max_videos": (JOB_VIDEOS, 1), "latency_repeats": (REPEATS, 1),
    "threads": (THREADS, 1),
}


def _check_eval(cfg: EvalConfig, node: Node) -> None:
    for key, (limit, minimum) in _EVAL_BOUNDS.items():
        value = getattr(cfg, key)
        if value is None:
            continue
        where = node.get(key)
        if value < minimum:
            raise where.error(f"must be >= {minimum}, got {value}")
        limit.check(value, file=node.doc.file, line=node.doc.line(where.path), path=where.path_str)


def _check_rungs(search: SearchConfig, s: Node) -> None:
    """Each rung is valid, and no rung evaluates more videos or frames than the one after it."""
    later = search.eval
    for i in reversed(range(len(search.rungs))):
        rung, node = search.rungs[i], s.child("rungs").child(i)
        _check_eval(rung.eval_config(search.eval), node)
        if not 0 < rung.promote <= 1:
            raise node.child("promote").error(f"must be in (0, 1] (the fraction that climbs), got {rung.promote}")
        if rung.max_videos is None and rung.max_frames is None:
            raise node.error("a rung needs max_videos or max_frames (fewer than the next rung's)")
        cfg = rung.eval_config(search.eval)
        for key in ("max_videos", "max_frames"):
            mine, next_ = getattr(cfg, key), getattr(later, key)
            if next_ is not None and (mine is None or mine > next_):
                where = node.child(key) if key in node.mapping() else node  # unset: the full rung's value
                raise where.error(f"{key} {mine} is more than the next rung's {next_}: rungs go from cheap to "
                                  "the full search.eval (an unset value is search.eval's)")
        later = cfg


def load_search_spec(path: str | Path) -> SearchSpec:
    return dataclasses.replace(parse_search_spec(load_yaml(path).root, source=Path(path).absolute()), file=str(path))
