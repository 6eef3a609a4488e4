"""Ablation jobs: the structure of the paper's Tables 3–5 on any benchmark, in one table.

    name: ablation
    data: {synth: {...}}
    ablation:
      base: {supernet: ..., search: ..., export: {top: 1}, retrain: ...}   # a job body
      evaluate: {name: synth-test, root: "${data}/test", format: lasot, benchmark: synth}
      variants:
        - {name: baseline, space: search_spaces/tiny_siamcar.yaml, fixed_op: shuffle3}
        - {name: +ModaMixer+ASS, space: search_spaces/tiny.yaml}
        - {name: zeros fallback, space: search_spaces/tiny.yaml, lang_mode: zeros}
        - {name: no language at inference, reuse: +ModaMixer+ASS, use_language: false}

Each variant is the base job with its overrides, run under runs/<job>/<variant>/
with the usual skip/resume rules. `fixed_op` replaces search with a hand-fixed
architecture trained from scratch for the supernet + retrain steps (the paper's
non-searched arms). `reuse` evaluates another variant's tracker differently
instead of training again.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from nasvl.config import Node, YamlDoc, load_yaml, parse_dataclass
from nasvl.config.names import check_name
from nasvl.config.paths import resolve_path
from nasvl.io import RunFolder, atomic_write_json, atomic_write_text
from nasvl.jobs.evaluate import evaluate_exports
from nasvl.jobs.runner import run_job
from nasvl.jobs.spec import EvalDataset, JobSpec, parse_job
from nasvl.metrics.report import format_diff, format_suc, jsonable
from nasvl.metrics.sensitivity import LanguageMode
from nasvl.train.config import LanguageConfig, absolute_language

# The language modes of the ablation's sensitivity columns (nasvl.metrics.sensitivity).
ABLATION_MODES: tuple[LanguageMode, ...] = ("correct", "none", "deranged")


@dataclass(frozen=True)
class Variant:
    name: str
    space: str | None = None
    fixed_op: str | None = None
    lang_mode: str | None = None
    reuse: str | None = None
    use_language: bool = True
    note: str = ""


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def _variant_job(doc: YamlDoc, base: dict[str, Any], v: Variant) -> dict[str, Any]:
    raw = {k: copy.deepcopy(doc.data[k]) for k in ("language", "data") if k in doc.data}
    raw.update(copy.deepcopy(base))
    raw["name"] = _slug(v.name)  # the variant runs in RUNS/<ablation>/<slug>/
    if v.space:
        raw["supernet"]["space"] = v.space
    if v.lang_mode:
        for section in ("supernet", "retrain", "search"):
            for src in raw.get(section, {}).get("pairs", {}).get("sources", []):
                src["lang_mode"] = v.lang_mode
    if v.fixed_op:
        # No search: a fixed architecture trained from scratch as long as the searched arm trains.
        supernet = raw.pop("supernet")
        raw.pop("search", None)
        raw["export"] = {"fixed_op": v.fixed_op, "space": supernet["space"]}
        raw["retrain"].setdefault("pairs", supernet["pairs"])
        raw["retrain"]["train"] = {**supernet["train"],
                                   "steps": supernet["train"]["steps"] + raw["retrain"]["train"]["steps"]}
    return raw


@dataclass(frozen=True)
class AblationPlan:
    name: str
    doc: YamlDoc
    variants: list[tuple[Variant, JobSpec | None]]  # None: the variant reuses another's tracker
    evaluate: EvalDataset
    language: LanguageConfig


def load_ablation(path: str | Path, runs_dir: str | Path = "runs") -> AblationPlan:
    """Parse and validate the ablation file and every variant's job (nothing runs)."""
    doc = load_yaml(path)
    source = Path(path).absolute()  # relative paths in it: the rule of nasvl.config.paths
    root = doc.root
    root.check_keys({"name", "description", "language", "data", "ablation"}, {"name", "ablation"})
    ab = root.child("ablation")
    ab.check_keys({"base", "evaluate", "variants"}, {"base", "evaluate", "variants"})
    name_node = root.child("name")
    name = check_name(name_node.as_str(), what="ablation name", file=doc.file, line=doc.line(name_node.path),
                      path="name")
    variants = [parse_dataclass(Variant, n) for n in ab.child("variants").seq()]
    names = [v.name for v in variants]
    folders: dict[str, str] = {}
    for i, v in enumerate(variants):
        where = ab.child("variants").child(i).child("name")
        slug = check_name(_slug(v.name), what=f"variant folder (from name {ascii(v.name)})", file=doc.file,
                          line=doc.line(where.path), path=where.path_str)
        if slug in folders:
            raise where.error(f"variant {v.name!r} would share the folder {slug!r} with {folders[slug]!r}")
        folders[slug] = v.name
    planned: list[tuple[Variant, JobSpec | None]] = []
    for i, v in enumerate(variants):
        if v.reuse is not None:
            if v.reuse not in names[:i]:
                raise ab.child("variants").child(i).child("reuse").error(
                    f"reuse names no earlier variant (earlier: {', '.join(names[:i]) or 'none'})")
            planned.append((v, None))
            continue
        raw = _variant_job(doc, ab.child("base").value, v)
        planned.append((v, parse_job(YamlDoc(raw, doc.file, _lines_for(doc, ab.child("base"))), runs_dir,
                                     run_dir=Path(runs_dir) / name / _slug(v.name), source=source)))
    ds_raw = _substitute_data(ab.child("evaluate").value, doc, runs_dir)
    evaluate = parse_dataclass(EvalDataset, Node(YamlDoc(ds_raw, doc.file), (), ds_raw))
    evaluate = dataclasses.replace(evaluate, root=str(resolve_path(evaluate.root, source)))
    language = absolute_language(parse_dataclass(LanguageConfig, root.get("language", {})), source)
    return AblationPlan(name, doc, planned, evaluate, language)


def run_ablation(plan: AblationPlan, runs_dir: str | Path = "runs", *, resume: bool = False,
                 address: str | None = None, console: Console | None = None) -> Path:
    console = console or Console()
    folder = RunFolder(Path(runs_dir) / plan.name)
    with folder.lock():
        return _run_variants(plan, folder, resume=resume, address=address, console=console)


def _run_variants(plan: AblationPlan, folder: RunFolder, *, resume: bool, address: str | None,
                  console: Console) -> Path:
    run_dir = folder.root
    exports: dict[str, str] = {}
    rows = []
    for v, job in plan.variants:
        if job is not None:
            console.rule(f"[bold]ablation {plan.name}: {v.name}")
            vdir = folder.path(_slug(v.name))
            run_job(job, vdir, resume=resume, address=address, console=console)
            exports[v.name] = json.loads((vdir / "retrain" / "DONE.json").read_text())["outputs"]["export"]
        evaluation = evaluate_exports({"tracker": exports[v.reuse or v.name]}, plan.evaluate,
                                      folder.path("_eval", _slug(v.name)), job_file=plan.doc.file,
                                      language=plan.language, use_language=v.use_language,
                                      language_modes=ABLATION_MODES)
        o = evaluation["trackers"]["tracker"]["overall"]
        sens = evaluation["language_sensitivity"].get("tracker", {})
        row = {"variant": v.name, "note": v.note, "suc": o["suc"], "suc_ci": o["suc_ci"], "n_videos": o["n_videos"],
               "prec": o["prec"], "norm_prec": o["norm_prec"]}
        if "modes" in sens:
            row.update({f"delta_{m}": sens["modes"][m]["diff_vs_correct"] for m in ABLATION_MODES[1:]})
        else:
            row["sensitivity_skipped"] = sens.get("skipped", "no language modes")
        rows.append(row)
    _write_table(rows, run_dir, plan.name, plan.evaluate.name, console)
    return run_dir


def _lines_for(doc: YamlDoc, base: Node) -> dict[tuple, int]:
    # Errors inside a variant point at the base section's lines (variant overrides are simple values).
    prefix = base.path
    return {path[len(prefix):]: line for path, line in doc.lines.items() if path[: len(prefix)] == prefix}


def _substitute_data(value: dict[str, Any], doc: YamlDoc, runs_dir: str | Path) -> dict[str, Any]:
    synth = (doc.data.get("data") or {}).get("synth") or {}
    data_dir = synth.get("out") or str(Path(runs_dir) / doc.data["name"] / "data" / "synth")
    return json.loads(json.dumps(value).replace("${data}", data_dir))


def _write_table(rows: list[dict[str, Any]], run_dir: Path, name: str, dataset: str, console: Console) -> None:
    # Δ columns: SUC(mode) - SUC(correct description) overall, with the paired 95 % bootstrap CI; a
    # tracker without language (or evaluated without it) has none ("–").
    cols = ("variant", "SUC [95% CI]", "P", "PNorm", *(f"Δ {m} [95% CI]" for m in ABLATION_MODES[1:]),
            "paper analogue")
    table = Table(title=f"{name} — {dataset}")
    for col in cols:
        table.add_column(col)
    lines = ["| " + " | ".join(cols) + " |", "|---|" + "---:|" * (len(cols) - 2) + "---|"]
    for r in rows:
        vals = [format_suc(r), *(f"{100 * r[k]:.1f}" for k in ("prec", "norm_prec")),
                *(format_diff(r.get(f"delta_{m}", {}).get("overall")) for m in ABLATION_MODES[1:])]
        table.add_row(r["variant"], *vals, r["note"])
        lines.append(f"| {r['variant']} | {' | '.join(vals)} | {r['note']} |")
    console.print(table)
    console.print("Δ: SUC with that description minus SUC with the correct one (points); *: the CI excludes 0")
    atomic_write_text(run_dir / "ablation.md", "\n".join(lines) + "\n")
    atomic_write_json(run_dir / "ablation.json", jsonable(rows), sort_keys=False)
    console.print(f"table written to {run_dir / 'ablation.md'}")
