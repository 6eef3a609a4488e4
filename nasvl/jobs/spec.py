"""Job files: one YAML pipeline from data to an evaluated, exported tracker.

    name: quickstart
    language: {model: minilm}
    data:
      synth: {videos: 48, seed: 0}          # the embedded benchmark (written under runs/<job>/data/)
      # or roots: {lasot: /data/LaSOT, ...}  real datasets, referenced as ${roots.lasot}
    supernet: {space: ..., pairs: ..., train: ...}
    search:   {val: ..., search: ...}        # pairs default to the supernet's (BN recalibration)
    export:   {top: 1}
    retrain:  {train: ...}                   # pairs default to the supernet's
    baseline: {space: ..., train: ...}       # optional vision-only tracker with the searched backbone
    evaluate: {datasets: [...], first_box: true, language_modes: [correct, none, deranged, template]}

`${data}` in any string is the synthetic benchmark's folder; `${roots.NAME}` a
declared dataset root. Every section is validated up front, errors naming the
job file, line and YAML path.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nasvl.config import Node, YamlDoc, load_yaml, parse_dataclass
from nasvl.config.limits import EXPORT_TOP, JOB_VIDEOS, SYNTH_FRAMES, SYNTH_VIDEOS, TRAIN_WORKERS, bounded
from nasvl.config.names import check_name
from nasvl.config.paths import cli_path, resolve_path, resolve_str
from nasvl.data.pairs.mixing import PairsConfig
from nasvl.data.registry import check_format
from nasvl.metrics.protocols import PROTOCOL_NAMES
from nasvl.metrics.sensitivity import LANGUAGE_MODES, LanguageMode
from nasvl.search.config import FidelitySpec, SearchSpec, search_spec_from_nodes
from nasvl.space import SearchSpace, load_space
from nasvl.train.config import TrainSpec, train_spec_from_nodes

STEPS = ("data", "supernet", "search", "fidelity", "export", "retrain", "baseline", "evaluate")


@dataclass(frozen=True)
class SynthSpec:
    videos: int | None = bounded(SYNTH_VIDEOS, None, minimum=3)   # one per split at least
    seed: int = 0
    min_frames: int | None = bounded(SYNTH_FRAMES, None, minimum=10)
    max_frames: int | None = bounded(SYNTH_FRAMES, None, minimum=10)
    out: str | None = None


@dataclass(frozen=True)
class EvalDataset:
    name: str
    root: str
    format: str = "lasot"
    split: str | None = None
    benchmark: str | None = None   # tracker hyper-parameter set (lasot, tnl2k, ...)
    protocol: str | None = None    # scoring toolkit (pysot, got10k, pytracking); None: the format's default
    max_videos: int | None = bounded(JOB_VIDEOS, None, minimum=1)


@dataclass(frozen=True)
class EvaluateSpec:
    datasets: tuple[EvalDataset, ...]
    first_box: bool = True
    language_fallback: Literal["zeros", "template"] = "zeros"
    use_language: bool = True        # False: track without descriptions (ablation)
    device: str = "cpu"
    # VL trackers are also tracked in these modes for the language-sensitivity report
    # (nasvl.metrics.sensitivity); [] turns it off. Trackers without language are skipped.
    language_modes: tuple[LanguageMode, ...] = LANGUAGE_MODES
    # How the exports run: torch (BN folded), torch-plain, or ONNX fp32/int8 (graphs written next to
    # each export on first use, `nasvl export-onnx`); ONNX leaves the template mode out.
    runtime: Literal["torch", "torch-plain", "onnx", "onnx-int8"] = "torch"


@dataclass(frozen=True)
class ExportSpec:
    top: int = bounded(EXPORT_TOP, 1, minimum=1)
    fixed_op: str | None = None      # no search: every free block takes this op (ablation baselines)
    space: str | None = None         # with fixed_op and no supernet step: the space to take it from


@dataclass(frozen=True)
class ComputeSpec:
    train_workers: int = bounded(TRAIN_WORKERS, 1, minimum=1)  # Ray Train workers (1: in-process)
    gpu: bool = False                # one GPU per Ray Train worker (NCCL)


@dataclass(frozen=True)
class JobSpec:
    name: str
    file: str
    synth: SynthSpec | None
    roots: dict[str, str]
    supernet: TrainSpec | None
    search: SearchSpec | None
    export: ExportSpec | None
    retrain: TrainSpec | None
    baseline: TrainSpec | None
    evaluate: EvaluateSpec | None
    compute: ComputeSpec = field(default_factory=ComputeSpec)
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    run_dir: str = ""                # runs/<name>, where every step writes (absolute)
    doc: YamlDoc | None = field(repr=False, compare=False, default=None)  # for located errors after parsing
    fidelity: FidelitySpec | None = None  # optional: ranking fidelity of the search (nasvl.search.fidelity)

    @property
    def steps(self) -> list[str]:
        present = {"data": self.synth is not None or bool(self.roots), "supernet": self.supernet is not None,
                   "search": self.search is not None, "fidelity": self.fidelity is not None, "export": self.export is not None,
                   "retrain": self.retrain is not None, "baseline": self.baseline is not None,
                   "evaluate": self.evaluate is not None}
        return [s for s in STEPS if present[s]]

    def space(self) -> SearchSpace:
        assert self.supernet is not None and self.supernet.space is not None
        return load_space(self.supernet.space)  # absolute since parsing


_VAR = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")


def _substitute(value: Any, variables: dict[str, str], doc: YamlDoc, path: tuple) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, variables, doc, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, variables, doc, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, str):
        def repl(m: re.Match) -> str:
            if m.group(1) not in variables:
                raise Node(doc, path, value).error(
                    f"unknown variable ${{{m.group(1)}}} (known: {', '.join('${' + k + '}' for k in variables)})")
            return variables[m.group(1)]

        return _VAR.sub(repl, value)
    return value


def parse_job(doc: YamlDoc, runs_dir: str | Path = "runs", *, run_dir: str | Path | None = None,
              source: str | Path | None = None) -> JobSpec:
    """Validate a job; it runs in `run_dir` (default RUNS/<name>), a folder named by a plain name.

    Every path in the result is absolute, resolved here on the driver by the rule of
    `nasvl.config.paths` (`source`: the job file's real path; the run folder: from the working directory).
    """
    source = source if source is not None else doc.file
    root = doc.root
    root.check_keys({"name", "description", "language", "compute", "data", *STEPS[1:]}, {"name"})
    name_node = root.child("name")
    name = check_name(name_node.as_str(), what="job name", file=doc.file, line=doc.line(name_node.path),
                      path="name")
    run_dir = cli_path(run_dir if run_dir is not None else Path(runs_dir) / name)
    data = root.get("data", {})
    data.check_keys({"synth", "roots"})
    synth = None
    if data.get("synth").value is not None:
        synth = parse_dataclass(SynthSpec, data.child("synth"))
        _check_frames(synth, data.child("synth"))
        synth = dataclasses.replace(synth, out=resolve_str(synth.out, source))
    roots = {str(k): str(resolve_path(v.as_str(), source)) for k, v in data.get("roots", {}).items()}
    synth_out = (synth.out if synth and synth.out else str(run_dir / "data" / "synth"))
    variables = {"data": synth_out, **{f"roots.{k}": v for k, v in roots.items()}}
    doc = YamlDoc(_substitute(doc.data, variables, doc, ()), doc.file, doc.lines)
    root = doc.root
    language = root.get("language", {})

    sup = root.get("supernet")
    supernet = None
    if sup.value is not None:
        sup.check_keys({"space", "pairs", "train"}, {"space", "pairs", "train"})
        supernet = train_spec_from_nodes(name, sup.child("space"), sup.child("pairs"), language, sup.child("train"),
                                         source=source)
    pairs_default = sup.child("pairs") if supernet is not None else None

    def pairs_of(node: Node) -> Node:
        if "pairs" in node.mapping():
            return node.child("pairs")
        if pairs_default is None:
            raise node.error("no 'pairs' here and no supernet section to take them from")
        return pairs_default

    se = root.get("search")
    search = None
    if se.value is not None:
        se.check_keys({"val", "pairs", "search"}, {"val", "search"})
        search = search_spec_from_nodes(name, se.child("val"), pairs_of(se), language, se.child("search"),
                                        source=source)
    export = parse_dataclass(ExportSpec, root.child("export")) if "export" in root.mapping() else None
    if export is not None:
        export = dataclasses.replace(export, space=resolve_str(export.space, source))
    re_node = root.get("retrain")
    retrain = None
    if re_node.value is not None:
        re_node.check_keys({"pairs", "train"}, {"train"})
        retrain = train_spec_from_nodes(name, None, pairs_of(re_node), language, re_node.child("train"),
                                        require_space=False, source=source)
    base = root.get("baseline")
    baseline = None
    if base.value is not None:
        base.check_keys({"space", "pairs", "train"}, {"space", "train"})
        baseline = train_spec_from_nodes(name, base.child("space"), pairs_of(base), language, base.child("train"),
                                         source=source)
    ev = root.get("evaluate")
    evaluate = None
    if ev.value is not None:
        evaluate = parse_dataclass(EvaluateSpec, ev)
        _check_datasets(evaluate, ev)
        evaluate = dataclasses.replace(evaluate, datasets=tuple(
            dataclasses.replace(ds, root=str(resolve_path(ds.root, source))) for ds in evaluate.datasets))
    compute = parse_dataclass(ComputeSpec, root.get("compute", {}))
    job = JobSpec(name, doc.file, synth, roots, supernet, search, export, retrain, baseline, evaluate, compute,
                  doc.data, str(run_dir), doc,
                  parse_dataclass(FidelitySpec, root.child("fidelity")) if "fidelity" in root.mapping() else None)
    _check_order(root, job)
    return job


def _check_frames(synth: SynthSpec, node: Node) -> None:
    from nasvl.data.synth import SynthConfig

    lo = synth.min_frames if synth.min_frames is not None else SynthConfig.min_frames
    hi = synth.max_frames if synth.max_frames is not None else SynthConfig.max_frames
    if lo > hi:
        where = node.child("min_frames") if synth.min_frames is not None else node.child("max_frames")
        raise where.error(f"min_frames ({lo}) is greater than max_frames ({hi})")


def _check_datasets(evaluate: EvaluateSpec, ev: Node) -> None:
    """Each dataset writes evaluate/<name>/: a plain name, used once; and at least one dataset."""
    node = ev.child("datasets")
    if not evaluate.datasets:
        raise node.error("no datasets to evaluate on: list at least one (or drop the evaluate step)")
    seen: dict[str, int] = {}
    for i, ds in enumerate(evaluate.datasets):
        item = node.child(i)
        check_name(ds.name, what="dataset name", file=ev.doc.file, line=ev.doc.line(item.child("name").path),
                   path=item.child("name").path_str)
        if ds.name in seen:
            raise item.child("name").error(f"dataset name {ds.name!r} is used twice (also datasets[{seen[ds.name]}]);"
                                           " each writes evaluate/<name>/")
        seen[ds.name] = i
        check_format(item)
        if ds.protocol is not None and ds.protocol not in PROTOCOL_NAMES:
            raise item.child("protocol").error(f"unknown scoring protocol {ds.protocol!r} "
                                               f"(known: {', '.join(PROTOCOL_NAMES)})")


def _check_order(root: Node, job: JobSpec) -> None:
    """Each step needs what the earlier ones produce."""
    needs = {"search": "supernet", "fidelity": "search", "retrain": "export"}
    if job.export is not None and job.export.fixed_op is None and job.search is None:
        raise root.child("export").error("step 'export' needs a 'search' step before it (or export.fixed_op)")
    if job.export is not None and job.export.fixed_op and job.supernet is None and job.export.space is None:
        raise root.child("export").error("export.fixed_op without a supernet step needs export.space")
    for step, needed in needs.items():
        if getattr(job, step) is not None and getattr(job, needed) is None:
            raise root.child(step).error(f"step '{step}' needs a '{needed}' step before it")
    if job.evaluate is not None and job.retrain is None and job.export is None:
        raise root.child("evaluate").error("nothing to evaluate: add an export or retrain step")


def load_job(path: str | Path, runs_dir: str | Path = "runs") -> JobSpec:
    return parse_job(load_yaml(path), runs_dir, source=Path(path).absolute())


def data_paths(job: JobSpec) -> list[tuple[str, str]]:
    """(where, path) of every dataset folder the job reads, for dry-run checks."""
    out: list[tuple[str, str]] = [(f"data.roots.{k}", v) for k, v in job.roots.items()]
    for step in ("supernet", "retrain", "baseline"):
        spec: TrainSpec | None = getattr(job, step)
        pairs: PairsConfig | None = spec.pairs if spec else None
        for i, src in enumerate(pairs.sources if pairs else ()):
            out.append((f"{step}.pairs.sources[{i}]", src.root))
    if job.search is not None:
        out.append(("search.val", job.search.val.root))
    for i, ds in enumerate(job.evaluate.datasets if job.evaluate else ()):
        out.append((f"evaluate.datasets[{i}]", ds.root))
    return out
