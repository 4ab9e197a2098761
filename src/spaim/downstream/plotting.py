"""Figures of the downstream analyses; each returns the figure and writes a PNG when ``save`` is given."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import anndata as ad
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import scanpy as sc

from spaim.downstream.expression import dense
from spaim.downstream.ligrec import paired_scores
from spaim.pl._figure import SavePath, coordinates, panels, save_figure
from spaim.pl.spatial import measured_vs_imputed

_PAIR_COLOURS = {"both": "tab:red", "reference only": "tab:blue", "other only": "tab:orange", "neither": "lightgrey"}


def pairs_scatter(
    reference: pd.DataFrame, others: Mapping[str, pd.DataFrame], reference_name: str = "raw", save: SavePath = None
) -> plt.Figure:
    """Association strength ``r`` of each L–R pair tested in both: reference (x) vs each other dataset (y)."""
    fig, axes = panels(max(len(others), 1))
    for ax, (name, table) in zip(axes.flat, others.items(), strict=False):
        both = paired_scores(reference, table)
        sig_x, sig_y = both["significant_x"].astype(bool), both["significant_y"].astype(bool)
        kind = np.select(
            [sig_x & sig_y, sig_x, sig_y],
            ["both", "reference only", "other only"], "neither",
        )
        for label, colour in _PAIR_COLOURS.items():
            pick = kind == label
            shown = label.replace("reference", reference_name).replace("other", name)
            ax.scatter(both.loc[pick, "r_x"], both.loc[pick, "r_y"], s=10, c=colour, label=f"{shown} ({pick.sum()})")
        ax.axline((0, 0), slope=1, color="black", lw=0.6, ls="--")
        ax.set(xlabel=f"r on {reference_name}", ylabel=f"r on {name}", title=f"{len(both)} pairs tested in both")
        ax.legend(fontsize=7, title="significant on", title_fontsize=7)
    return save_figure(fig, save)


def deg_bars(counts: pd.DataFrame, save: SavePath = None) -> plt.Figure:
    """Grouped bars of DEGs per group, one bar per dataset (a :func:`~spaim.downstream.deg.count_degs` table)."""
    table = counts.set_index("group")
    fig, ax = plt.subplots(figsize=(max(4.0, 0.6 * len(table) * max(1, table.shape[1] / 2)), 3.6))
    table.plot.bar(ax=ax, width=0.8)
    ax.set(xlabel="", ylabel="DEGs (adj. p and log2FC thresholds)")
    ax.tick_params(axis="x", labelrotation=60)
    return save_figure(fig, save)


def domain_maps(adata: ad.AnnData, clusters: pd.DataFrame, scores: pd.DataFrame | None = None, save: SavePath = None) -> plt.Figure:
    """Cells at their coordinates coloured by each column of ``clusters`` (one panel per column)."""
    xy = coordinates(adata)
    ari = {} if scores is None else dict(zip(scores["data"], scores["ari"], strict=True))
    fig, axes = panels(clusters.shape[1])
    for ax, name in zip(axes.flat, clusters.columns, strict=False):
        codes = pd.Categorical(clusters[name]).codes
        ax.scatter(xy[:, 0], xy[:, 1], c=codes, cmap="tab20", s=4, linewidths=0)
        ax.set(title=name if name not in ari else f"{name} (ARI {ari[name]:.2f})", aspect="equal", xticks=[], yticks=[])
    return save_figure(fig, save)


#: Measured vs imputed maps are drawn by the public plotting API.
expression_maps = measured_vs_imputed


def marker_umap(adata: ad.AnnData, genes: Sequence[str], seed: int = 0, save: SavePath = None) -> plt.Figure:
    """UMAP of ``adata``'s cells (log-scale expression) coloured by each of ``genes``."""
    work = ad.AnnData(X=dense(adata), var=pd.DataFrame(index=adata.var_names))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scaled = sc.pp.scale(work, max_value=10, copy=True)
        sc.pp.pca(scaled, n_comps=max(1, min(30, work.n_vars - 1, work.n_obs - 1)), random_state=seed)
        sc.pp.neighbors(scaled, n_neighbors=min(15, work.n_obs - 1), random_state=seed)
        sc.tl.umap(scaled, random_state=seed)
    umap = scaled.obsm["X_umap"]
    fig, axes = panels(len(genes))
    for ax, gene in zip(axes.flat, genes, strict=False):
        ax.scatter(umap[:, 0], umap[:, 1], c=dense(work[:, gene]).ravel(), cmap="viridis", s=4, linewidths=0)
        ax.set(title=gene, xlabel="UMAP1", ylabel="UMAP2", xticks=[], yticks=[])
    return save_figure(fig, save)
