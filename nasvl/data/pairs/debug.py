"""A grid PNG of sampled training pairs with their boxes, for a person to look at."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from nasvl.data.pairs.dataset import PairDataset
from nasvl.io import atomic_write


def write_pair_grid(dataset: PairDataset, out_path: str | Path, n: int = 16, start: int = 0,
                    columns: int = 4) -> Path:
    """Draw pairs `start..start+n-1`: template and search side by side, boxes in green
    (red for negatives), caption with the description and the language mode."""
    n = min(n, len(dataset) - start)
    rows = (n + columns - 1) // columns
    fig = Figure(figsize=(columns * 4.2, rows * 2.6), dpi=100)
    grid = fig.add_gridspec(rows, columns * 2, width_ratios=[1, 2] * columns)
    for k in range(n):
        item = dataset[start + k]
        r, c = divmod(k, columns)
        colour = "red" if item["negative"] else "lime"
        for j, key in enumerate(("template", "search")):
            ax = fig.add_subplot(grid[r, 2 * c + j])
            image = item[key].numpy().transpose(1, 2, 0)[:, :, ::-1].astype(np.uint8)  # BGR -> RGB
            ax.imshow(image)
            x0, y0, x1, y1 = item[f"{key}_box"].tolist()
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=colour, linewidth=1.2))
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 1:
                text = item["text"] or f"(no text: {item['lang_mode']})"
                label = ("NEG · " if item["negative"] else "") + text
                ax.set_title("\n".join(textwrap.wrap(label, 34)[:2]), fontsize=7)
    fig.tight_layout()
    return atomic_write(out_path, lambda p: fig.savefig(p, format="png"))
