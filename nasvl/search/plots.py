"""Search plots: score against trial order (with the running best), and the Pareto scatter."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nasvl.search.costs import search_cost  # noqa: E402
from nasvl.search.records import Records  # noqa: E402


def plot_search(records: Records, out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = sorted(records.completed, key=lambda r: r.nasvl_trial or "")
    paths = []
    if not done:
        return paths
    sucs = [r.result.suc for r in done]  # type: ignore[union-attr]
    best = [max(sucs[: i + 1]) for i in range(len(sucs))]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(range(1, len(sucs) + 1), sucs, s=12, label="trial SUC")
    ax.plot(range(1, len(best) + 1), best, color="C1", label="best so far")
    ax.set_xlabel("trial (proposal order)")
    ax.set_ylabel("validation SUC")
    ax.legend()
    fig.tight_layout()
    paths.append(out / "score_vs_trial.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    growth = search_cost(records)["best_vs_frames"]
    if growth:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.step([g["frames"] for g in growth], [g["best_suc"] for g in growth], where="post", marker="o")
        ax.set_xlabel("evaluation frames spent (all rungs)")
        ax.set_ylabel("best validation SUC (full rung)")
        fig.tight_layout()
        paths.append(out / "best_vs_frames.png")
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    for cost in ("latency_ms", "macs"):
        pts = [(getattr(r.result, cost), r.result.suc) for r in done if getattr(r.result, cost) is not None]
        if not pts:
            continue
        front = {id(r) for r in records.pareto(("suc", cost))}
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=12, label="trials")
        f = sorted((getattr(r.result, cost), r.result.suc) for r in done if id(r) in front)
        ax.plot([p[0] for p in f], [p[1] for p in f], "o-", color="C3", label="Pareto front")
        ax.set_xlabel(cost)
        ax.set_ylabel("validation SUC")
        ax.legend()
        fig.tight_layout()
        paths.append(out / f"pareto_suc_{cost}.png")
        fig.savefig(paths[-1], dpi=120)
        plt.close(fig)
    return paths


def plot_fidelity(summary: dict, path: str | Path) -> Path:
    """Supernet score against stand-alone score of the fidelity run's architectures, τ/ρ in the title."""
    path = Path(path)
    pts = [p for p in summary["points"] if p["standalone_suc"] is not None]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter([p["supernet_suc"] for p in pts], [p["standalone_suc"] for p in pts], s=18)
    for p in pts:
        ax.annotate(p["trial"], (p["supernet_suc"], p["standalone_suc"]), fontsize=6)
    ax.set_xlabel("supernet SUC (search)")
    ax.set_ylabel(f"stand-alone SUC ({summary['train_steps']} steps, {summary['init']})")
    title = []
    for name, key in (("τ", "kendall_tau"), ("ρ", "spearman_rho")):
        est = summary.get(key)
        if est and est["value"] is not None:
            ci = f" [{est['low']:.2f}, {est['high']:.2f}]" if est["low"] is not None else ""
            title.append(f"{name} = {est['value']:.2f}{ci}")
    ax.set_title(", ".join(title) or "too few architectures for a correlation", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
