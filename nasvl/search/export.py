"""Exporting searched architectures as standalone subnets with inherited weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nasvl.errors import ConfigError, NasvlError
from nasvl.export import save_subnet
from nasvl.io import atomic_write_json
from nasvl.search.config import SearchSpec, parse_search_spec
from nasvl.search.records import Record, Records, load_records
from nasvl.search.result import pareto_objectives
from nasvl.space import to_cand


def spec_from_meta(meta: dict[str, Any]) -> SearchSpec:
    """The search's config as recorded in its search.json."""
    from nasvl.config import YamlDoc

    return parse_search_spec(YamlDoc(_plain(meta["config"]), "search.json").root)


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    """search.json stores the parsed config; drop derived fields so it parses as a config again."""
    out = {k: v for k, v in config.items() if k != "file"}
    return json.loads(json.dumps(out))


def export_records(run_dir: str | Path, out_dir: str | Path, *, top: int = 1, pareto: bool = False) -> list[Path]:
    """Export the best `top` (or the Pareto set over the search's objectives, `pareto_objectives`) of a
    search; BN is recalibrated on each path first."""
    import torch

    from nasvl.search.evaluator import recalibrate_on_pairs
    from nasvl.search.run import prepare
    from nasvl.supernet import build_supernet

    records: Records = load_records(run_dir)
    spec = spec_from_meta(records.meta)
    chosen: list[Record] = (records.pareto(pareto_objectives(spec.search.objectives)) if pareto
                            else records.best(top))
    if not chosen:
        raise NasvlError(f"{run_dir}: no completed trial to export")
    setup, space = prepare(spec, records.meta["supernet"], Path(run_dir))
    supernet = build_supernet(space)
    supernet.load_state_dict(setup.weights)
    out = Path(out_dir)
    paths = []
    for rank, record in enumerate(chosen, start=1):
        arch = space.arch(record.arch)
        recalibrate_on_pairs(supernet, arch, setup.recal_batches, torch.device("cpu"))
        subnet = supernet.extract(arch).eval()
        target = out if len(chosen) == 1 else out / f"rank{rank:02d}_{arch.key}"
        extra = {"search_run": str(Path(run_dir).resolve()), "trial": record.nasvl_trial,
                 "score": record.result.to_dict() if record.result else None, "rank": rank}
        save_subnet(subnet, target, extra=extra)
        try:
            atomic_write_json(target / "cand.json", {"CAND": to_cand(space, arch)})
        except ConfigError:
            pass  # not expressible in the official format (e.g. searched pre blocks): arch.yaml is canonical
        paths.append(target)
    return paths
