"""Figures of a benchmark run: metric boxplots and spatial maps of measured vs predicted genes."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from spaim.benchmark.protocol import DatasetResult
from spaim.pl import cv_scores
from spaim.pl._figure import save_figure, spatial_scatter


def metric_boxplots(per_gene: pd.DataFrame, dataset: str, scoring: str = "normalized") -> plt.Figure:
    """One panel per metric, one box per method, over the held-out genes of ``dataset``."""
    scores = per_gene[(per_gene["dataset"] == dataset) & (per_gene["scoring"] == scoring)]
    return cv_scores(scores, groupby="method", title=f"{dataset}: held-out genes ({scoring} scoring)")


def representative_genes(
    per_gene: pd.DataFrame, dataset: str, method: str = "spaim", markers: tuple[str, ...] = (), scoring: str = "normalized"
) -> dict[str, str]:
    """``method``'s best, median and worst held-out gene by PCC (ST names), then the ``markers`` present."""
    scores = per_gene[(per_gene["dataset"] == dataset) & (per_gene["method"] == method) & (per_gene["scoring"] == scoring)]
    scores = scores.sort_values("pcc", ascending=False)
    picks = {"best": scores.iloc[0], "median": scores.iloc[len(scores) // 2], "worst": scores.iloc[-1]}
    genes = {label: row["gene"] for label, row in picks.items()}
    present = set(scores["gene"]) - set(genes.values())
    return genes | {f"marker {g}": g for g in markers if g in present}


def spatial_maps(
    result: DatasetResult, per_gene: pd.DataFrame, peer: str | None, method: str = "spaim", markers: tuple[str, ...] = (),
    scoring: str = "normalized",
) -> plt.Figure | None:
    """Measured vs ``method`` vs ``peer`` for ``method``'s best, median and worst genes and the markers (rows)."""
    coords = result.inputs.st.obsm.get("spatial")
    if coords is None or result.runs.get(method) is None or result.runs[method].status != "ok":
        return None
    genes = representative_genes(per_gene, result.spec.name, method, markers, scoring)
    # A carried peer (``--carry``) has scores but no predictions to draw.
    names = [method] + ([peer] if peer is not None and result.runs[peer].prediction is not None else [])
    columns = [("measured", result.truth_panel(scoring))] + [(name, result.prediction_panel(name, scoring)) for name in names]
    fig, axes = plt.subplots(len(genes), len(columns), figsize=(3.4 * len(columns), 3.2 * len(genes)), squeeze=False)
    scores = per_gene[(per_gene["dataset"] == result.spec.name) & (per_gene["scoring"] == scoring)].set_index(["method", "gene"])
    for row, (label, gene) in enumerate(genes.items()):
        j = result.inputs.st_genes.index(gene)
        for col, (name, panel) in enumerate(columns):
            title = f"{gene} ({label}): measured" if name == "measured" else f"{name}, PCC {scores.loc[(name, gene), 'pcc']:.2f}"
            spatial_scatter(axes[row, col], coords, panel[:, j], title)
    fig.tight_layout()
    return fig


def save(fig: plt.Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG (:func:`spaim.pl._figure.save_figure`) and free it; return ``path``."""
    save_figure(fig, path)
    return path
