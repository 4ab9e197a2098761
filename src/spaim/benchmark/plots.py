"""Figures of a benchmark run: metric boxplots and spatial maps of measured vs predicted genes."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from spaim.benchmark.protocol import DatasetResult
from spaim.io import atomic_path
from spaim.pl import cv_scores
from spaim.pl._figure import spatial_scatter


def metric_boxplots(per_gene: pd.DataFrame, dataset: str) -> plt.Figure:
    """One panel per metric, one box per method, over the held-out genes of ``dataset``."""
    return cv_scores(per_gene[per_gene["dataset"] == dataset], groupby="method", title=f"{dataset}: held-out genes")


def representative_genes(per_gene: pd.DataFrame, dataset: str, method: str = "spaim") -> dict[str, str]:
    """``method``'s best, median and worst held-out gene by PCC (ST names)."""
    scores = per_gene[(per_gene["dataset"] == dataset) & (per_gene["method"] == method)].sort_values("pcc", ascending=False)
    picks = {"best": scores.iloc[0], "median": scores.iloc[len(scores) // 2], "worst": scores.iloc[-1]}
    return {label: row["gene"] for label, row in picks.items()}


def spatial_maps(result: DatasetResult, per_gene: pd.DataFrame, peer: str | None, method: str = "spaim") -> plt.Figure | None:
    """Measured vs ``method`` vs ``peer`` for ``method``'s best, median and worst genes (rows)."""
    coords = result.inputs.st.obsm.get("spatial")
    if coords is None or result.runs.get(method) is None or result.runs[method].status != "ok":
        return None
    genes = representative_genes(per_gene, result.spec.name, method)
    columns = [("measured", None), (method, result.runs[method].prediction)]
    if peer is not None:
        columns.append((peer, result.runs[peer].prediction))
    fig, axes = plt.subplots(len(genes), len(columns), figsize=(3.4 * len(columns), 3.2 * len(genes)), squeeze=False)
    scores = per_gene[per_gene["dataset"] == result.spec.name].set_index(["method", "gene"])
    for row, (label, gene) in enumerate(genes.items()):
        j = result.inputs.st_genes.index(gene)
        measured = np.log1p(np.asarray(result.inputs.st.X[:, j], dtype=np.float64))
        for col, (name, prediction) in enumerate(columns):
            values = measured if prediction is None else prediction[:, j]
            title = f"{gene} ({label}): measured" if prediction is None else f"{name}, PCC {scores.loc[(name, gene), 'pcc']:.2f}"
            spatial_scatter(axes[row, col], coords, values, title)
    fig.tight_layout()
    return fig


def save(fig: plt.Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG atomically and free it."""
    with atomic_path(path, force=True) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
