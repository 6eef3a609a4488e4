"""Supernet training-step overhead against the same architecture extracted as a standalone network.

Both take one SGD step (momentum 0.9, weight decay 1e-4) on the same batch; the
supernet's optimizer holds *all* parameters (as in supernet training), the
subnet's only its own. The ratio isolates what weight sharing costs per step:
op dispatch through the choice layers and the optimizer skipping off-path
parameters.
"""

from __future__ import annotations

import platform
import random
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from nasvl.io import atomic_write_json
from nasvl.space import SearchSpace, load_space
from nasvl.supernet import LanguageInput, Network, build_supernet


def _loss(net: Network, arch, space: SearchSpace, batch: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    lang = None
    if space.mixer is not None:
        lang = LanguageInput(torch.randn(batch, space.mixer.language_dim, generator=g),
                             torch.ones(batch, dtype=torch.bool))
    inputs = {b: torch.randn(batch, 3, s, s, generator=g) for b, s in space.inputs}
    if net.head is not None:
        out = net.track_forward(inputs["template"], inputs["search"], arch, lang)
        return sum(v.float().mean() for v in out.values())
    feats, stage_lang = net.features(space.branches[0], inputs[space.branches[0]], arch, lang)
    total = sum(f.mean() for f in feats)
    for b in space.branches[1:]:
        total = total + sum(f.mean() for f in net.features(b, inputs[b], arch, stage_lang=stage_lang or None)[0])
    return total


def _step_ms(net: Network, arch, space: SearchSpace, batch: int, repeats: int, warmup: int = 2) -> float:
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    net.train()
    times = []
    for i in range(warmup + repeats):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        _loss(net, arch, space, batch).backward()
        opt.step()
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(space_path: str, batch: int = 4, archs: int = 3, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    space = load_space(space_path)
    torch.manual_seed(seed)
    supernet = build_supernet(space)
    rng = random.Random(seed)
    rows = []
    for _ in range(archs):
        arch = space.sample(rng)
        subnet = supernet.extract(arch)
        # Interleave the two measurements so drifting machine load hits both alike.
        sup = statistics.median(_step_ms(supernet, arch, space, batch, repeats) for _ in range(2))
        sub = statistics.median(_step_ms(subnet, arch, space, batch, repeats) for _ in range(2))
        rows.append({"arch": arch.key, "supernet_ms": sup, "subnet_ms": sub, "ratio": sup / sub})
    return {
        "benchmark": "supernet_step_overhead",
        "space": space.name,
        "batch": batch,
        "threads": torch.get_num_threads(),
        "machine": f"{platform.machine()} {platform.processor() or ''} {torch.get_num_threads()} threads".strip(),
        "rows": rows,
        "median_ratio": statistics.median(r["ratio"] for r in rows),
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spaces", nargs="*", default=["search_spaces/tiny.yaml"])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--archs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default="runs/bench/supernet_step.json")
    args = parser.parse_args(argv)
    results = []
    for path in args.spaces:
        r = run(path, args.batch, args.archs, args.repeats)
        results.append(r)
        print(f"{r['space']}: batch {r['batch']}, supernet/subnet step ratio (median over "
              f"{len(r['rows'])} archs) = {r['median_ratio']:.3f}")
        for row in r["rows"]:
            print(f"  {row['arch']}: supernet {row['supernet_ms']:.1f} ms, subnet {row['subnet_ms']:.1f} ms, "
                  f"ratio {row['ratio']:.3f}")
    atomic_write_json(Path(args.json), results)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
