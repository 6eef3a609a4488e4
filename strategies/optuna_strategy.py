"""Optuna TPE / NSGA-II over the free blocks, through Optuna's ask-and-tell (registered as ``optuna``).

Each free block is one categorical parameter named by its block path. The
search's objectives (``search.objectives``, the strategy's ``objectives``): one
(SUC, maximised) uses TPE; several (e.g. ``[suc, latency_ms]`` or ``[suc, macs]``)
use multi-objective TPE (default) or NSGA-II, and ``pareto()`` gives the
non-dominated set.

Storage: ``sqlite:///RUN_DIR/optuna.db`` by default, any RDB URL via
``storage`` (clusters), ``memory`` (or no run dir) for in-memory. The study is
created with ``load_if_exists`` so a resumed search reattaches to the same
study, and optuna-dashboard can open the file while the search runs.

Why this adapter over Optuna's ask-and-tell, and not Ray Tune's ``OptunaSearch``:
* ``OptunaSearch`` is a Tune ``Searcher`` only; a nasvl strategy must also run
  without Ray (CLI dry runs, the conformance suite, benchmarks), and the Tune
  adapter should wrap every strategy the same way.
* ``OptunaSearch.save`` pickles the whole study (in-memory by default); nasvl
  state is JSON, and with an RDB storage the study already *is* the durable
  record: our ``state_dict`` only maps nasvl trial ids to Optuna trial numbers.
* nasvl needs things ``OptunaSearch`` does not do: dedup (an architecture
  Optuna proposes again gets its known value told back instead of being
  re-evaluated), constraint rejection before evaluation, NaN/failed results
  told as ``FAIL``, and deterministic resume (the sampler is re-seeded per ask
  from ``seed`` and the ask count, so a restored search proposes exactly what
  the uninterrupted one would have).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from nasvl.config.limits import SEARCH_BUDGET, bounded
from nasvl.errors import ConfigError, NasvlError
from nasvl.search.result import MAXIMIZE, TrialResult
from nasvl.search.strategy import Proposal, Strategy, Trial, register_strategy
from nasvl.space import Architecture


@dataclass(frozen=True)
class OptunaOptions:
    budget: int = bounded(SEARCH_BUDGET, 200)  # architectures proposed for evaluation (dedup tells do not count)
    sampler: Literal["tpe", "nsga2"] = "tpe"
    storage: str | None = None  # None: sqlite:///RUN_DIR/optuna.db (in-memory without a run dir)
    study_name: str | None = None  # None: nasvl-<space>-<space hash>-s<seed>
    load_if_exists: bool = True
    n_startup_trials: int = 10  # TPE: random trials before the model kicks in
    population_size: int = bounded(SEARCH_BUDGET, 50)  # NSGA-II
    max_duplicates: int = 32  # Optuna re-proposals per wanted candidate before a random unseen one
    sqlite_wal: bool = True  # WAL journal for SQLite storage; turn off if the run dir is on NFS

    def __post_init__(self) -> None:
        if self.budget < 1 or self.max_duplicates < 1 or self.population_size < 2:
            raise ConfigError("optuna: budget and max_duplicates must be >= 1, population_size >= 2")



def _storage(url: str | None, wal: bool) -> str | optuna.storages.BaseStorage | None:
    if url is None or not wal or not url.startswith("sqlite:"):
        return url
    # Optuna commits once per suggested parameter; with SQLite's default rollback journal each
    # commit is an fsync (~15 ms here, ~0.8 s per 48-block trial). WAL with synchronous=NORMAL
    # stays crash-safe for the database and lets optuna-dashboard read while the search writes.
    # (WAL needs every process on one host: the searcher runs in the Tune driver, so it is.)
    import sqlalchemy

    storage = optuna.storages.RDBStorage(url)

    @sqlalchemy.event.listens_for(storage.engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    storage.engine.dispose()  # reconnect through the listener
    return storage


@register_strategy("optuna")
class OptunaStrategy(Strategy):
    Options = OptunaOptions
    # In-memory storage keeps the suite fast (SQLite costs ~0.1 s a trial here) and exercises the
    # state replay; tests/strategies/test_optuna.py covers the SQLite reattach path.
    conformance_options = {"budget": 24, "n_startup_trials": 6, "storage": "memory"}

    def __init__(self, space: Any, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(space, seed, **kwargs)
        o = self.options
        self._dists = {b.path: CategoricalDistribution(b.options) for b in space.free_blocks}
        self._numbers: dict[str, int] = {}  # nasvl trial id -> Optuna trial number
        self._shadows: dict[str, list[int]] = {}  # arch key -> Optuna trials waiting for its pending result
        self._fresh: list[int] = []  # Optuna numbers of the batch being proposed
        self._asks = 0
        self._dry = False
        if o.storage is None:
            if self.run_dir is not None:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self.storage_url: str | None = f"sqlite:///{self.run_dir / 'optuna.db'}"
            else:
                self.storage_url = None
        else:
            self.storage_url = None if o.storage == "memory" else o.storage
        self.study_name = o.study_name or f"nasvl-{space.name}-{space.hash[:8]}-s{self.seed}"
        directions = ["maximize" if name in MAXIMIZE else "minimize" for name in self.objectives]
        self.study = optuna.create_study(storage=_storage(self.storage_url, o.sqlite_wal), study_name=self.study_name,
                                         load_if_exists=o.load_if_exists, directions=directions,
                                         sampler=self._sampler())
        if [d.name.lower() for d in self.study.directions] != directions:
            raise NasvlError(f"Optuna study {self.study_name!r} in {self.storage_url} has directions "
                             f"{[d.name.lower() for d in self.study.directions]}, not {directions}")

    def _sampler(self) -> optuna.samplers.BaseSampler:
        # A fresh sampler seeded from (seed, ask count) per ask: Optuna samplers keep their RNG in
        # memory only, so this is what makes a restored search continue exactly like the original.
        seed = (self.seed * 1_000_003 + self._asks) % 2**32
        if self.options.sampler == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, population_size=self.options.population_size)
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=self.options.n_startup_trials)

    def _ask(self) -> optuna.trial.Trial:
        self.study.sampler = self._sampler()
        self._asks += 1
        trial = self.study.ask()
        for path, dist in self._dists.items():
            trial.suggest_categorical(path, dist.choices)
        return trial

    def _values(self, result: TrialResult) -> list[float] | None:
        if not result.ok:
            return None
        values = [result.objective(name) for name in self.objectives]
        return None if any(v is None for v in values) else values  # type: ignore[return-value]

    def _tell(self, number: int, result: TrialResult | None, state: TrialState | None = None) -> None:
        values = None if result is None else self._values(result)
        if state is None:
            state = TrialState.COMPLETE if values is not None else TrialState.FAIL
        self.study.tell(number, values if state == TrialState.COMPLETE else None, state=state,
                        skip_if_finished=True)  # a tell that already happened before a resume

    # ---- protocol -------------------------------------------------------------------------
    def _next_new(self, batch: set[str]) -> tuple[Architecture, int] | None:
        for _ in range(self.options.max_duplicates):
            trial = self._ask()
            arch = self.space.arch(trial.params)
            if not self.feasible(arch):
                # PRUNED without intermediate values ranks worst in TPE: it learns to avoid these.
                self._tell(trial.number, None, TrialState.PRUNED)
                continue
            if arch.key in batch or self.seen(arch):
                known = self.known_result(arch)
                if known is not None:
                    self._tell(trial.number, known)  # dedup: tell the known value, do not re-evaluate
                else:
                    self._shadows.setdefault(arch.key, []).append(trial.number)
                continue
            return arch, trial.number
        # Optuna keeps re-proposing known architectures (converged, or a small space): inject a
        # random unseen one so the search still makes progress.
        arch = self.sample_unseen(1000, exclude=batch)
        if arch is None:
            return None
        self.study.enqueue_trial(self.space.free_choices(arch))
        trial = self._ask()
        return arch, trial.number

    def propose(self, n: int) -> list[Architecture]:
        out: list[Architecture] = []
        self._fresh = []
        batch: set[str] = set()
        while len(out) < n and len(self._trials) + len(out) < self.options.budget:
            found = self._next_new(batch)
            if found is None:
                self._dry = True
                break
            out.append(found[0])
            batch.add(found[0].key)
            self._fresh.append(found[1])
        return out

    def on_ask(self, proposals: list[Proposal]) -> None:
        for proposal, number in zip(proposals, self._fresh, strict=True):
            self._numbers[proposal.trial_id] = number
        self._fresh = []

    def observe(self, trial: Trial) -> None:
        self._tell(self._numbers[trial.trial_id], trial.result)
        for number in self._shadows.pop(trial.arch.key, []):
            self._tell(number, trial.result)

    @property
    def exhausted(self) -> bool:
        return self._dry or len(self._trials) >= self.options.budget

    # ---- state ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        if self.options.storage and "@" in self.options.storage:
            # The state lands in Ray Tune checkpoints: never copy a database password into them.
            from sqlalchemy.engine import make_url

            state["options"]["storage"] = make_url(self.options.storage).render_as_string(hide_password=True)
        return state

    def strategy_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"numbers": self._numbers, "shadows": self._shadows, "asks": self._asks,
                                 "dry": self._dry, "study_name": self.study_name}
        if self.storage_url is None:
            # In-memory study: the state must carry the study itself, replayed on load.
            state["history"] = [
                {"state": t.state.name, "params": t.params, "values": t.values, "system_attrs": t.system_attrs}
                for t in self.study.get_trials(deepcopy=False)
            ]
        return state

    def load_strategy_state(self, state: dict[str, Any]) -> None:
        if state["study_name"] != self.study_name:
            raise NasvlError(f"state belongs to Optuna study {state['study_name']!r}, not {self.study_name!r}")
        self._numbers = {k: int(v) for k, v in state["numbers"].items()}
        self._shadows = {k: [int(n) for n in v] for k, v in state["shadows"].items()}
        self._asks, self._dry = int(state["asks"]), bool(state["dry"])
        if "history" in state:
            self._replay(state["history"])
        known = set(self._numbers.values()) | {n for v in self._shadows.values() for n in v}
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
            if t.number not in known:
                # Asked after the checkpoint we resume from: nothing will ever tell it.
                self.study.tell(t.number, state=TrialState.FAIL, skip_if_finished=True)

    def _replay(self, history: list[dict[str, Any]]) -> None:
        if self.study.get_trials(deepcopy=False):
            raise NasvlError(f"cannot replay into Optuna study {self.study_name!r}: it already has trials")
        for rec in history:
            state = TrialState[rec["state"]]
            if state in (TrialState.RUNNING, TrialState.WAITING):
                self.study.enqueue_trial(rec["params"])
                trial = self.study.ask()
                for path, dist in self._dists.items():
                    trial.suggest_categorical(path, dist.choices)
                continue
            self.study.add_trial(optuna.trial.create_trial(
                state=state, params=rec["params"], values=rec["values"], system_attrs=rec["system_attrs"],
                distributions={p: self._dists[p] for p in rec["params"]}))
