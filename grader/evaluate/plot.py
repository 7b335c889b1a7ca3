"""The calibration plot of ``grader evaluate --plot``: predicted vs human scores (matplotlib, imported when drawing)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def plot_calibration(series: dict[str, Sequence[float]], human: Sequence[float], path: str | os.PathLike[str], *, title: str = "", bins: int = 10) -> Path:
    """Predicted vs human scores: one scatter and binned means per series, and the diagonal; written as PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    h = np.asarray(human, dtype=float)
    lo, hi = float(h.min()), float(h.max())
    fig, ax = plt.subplots(figsize=(6, 5.5), dpi=100)
    rng = np.random.default_rng(0)
    jitter = (hi - lo or 1.0) * 0.015 * rng.standard_normal(len(h)) if len(set(h.tolist())) <= 21 else 0.0
    for (name, pred), colour in zip(series.items(), ("tab:blue", "tab:orange", "tab:green", "tab:red")):
        p = np.asarray(pred, dtype=float)
        ax.scatter(p, h + jitter, s=8, alpha=0.25, color=colour)
        edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
        idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
        xs = [p[idx == b].mean() for b in range(len(edges) - 1) if (idx == b).any()]
        ys = [h[idx == b].mean() for b in range(len(edges) - 1) if (idx == b).any()]
        ax.plot(xs, ys, marker="o", color=colour, label=f"{name} (binned mean)")
    ax.plot([lo, hi], [lo, hi], ls="--", color="grey", lw=1, label="perfect calibration")
    ax.set_xlabel("predicted score (human scale)")
    ax.set_ylabel("human score")
    ax.set_title(title or "calibration")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
