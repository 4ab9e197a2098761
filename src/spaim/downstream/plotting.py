"""Figures of the downstream analyses; each returns the figure and writes a PNG when ``save`` is given."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence

import anndata as ad
import matplotlib

matplotlib.use("Agg")  # figures are written to files; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scanpy as sc  # noqa: E402

from spaim.downstream.expression import align_cells, dense  # noqa: E402
from spaim.downstream.ligrec import paired_scores  # noqa: E402
from spaim.errors import SpaIMInputError  # noqa: E402
from spaim.io import atomic_path  # noqa: E402
from spaim.metrics import pcc  # noqa: E402
from spaim.pairing import spatial_coordinates  # noqa: E402

SavePath = str | os.PathLike | None
_PAIR_COLOURS = {"both": "tab:red", "reference only": "tab:blue", "other only": "tab:orange", "neither": "lightgrey"}


def save_figure(fig: plt.Figure, save: SavePath) -> plt.Figure:
    """Write ``fig`` as a PNG to ``save`` atomically (overwriting), then close it."""
    if save is not None:
        with atomic_path(save, force=True) as tmp:
            fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
    return fig


def _panels(n: int, size: float = 3.6, rows: int = 1) -> tuple[plt.Figure, np.ndarray]:
    cols = int(np.ceil(n / rows))
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    return fig, axes


def pairs_scatter(
    reference: pd.DataFrame, others: Mapping[str, pd.DataFrame], reference_name: str = "raw", save: SavePath = None
) -> plt.Figure:
    """Association strength ``r`` of each L–R pair tested in both: reference (x) vs each other dataset (y)."""
    fig, axes = _panels(max(len(others), 1))
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
    xy = _coordinates(adata)
    ari = {} if scores is None else dict(zip(scores["data"], scores["ari"], strict=True))
    fig, axes = _panels(clusters.shape[1])
    for ax, name in zip(axes.flat, clusters.columns, strict=False):
        codes = pd.Categorical(clusters[name]).codes
        ax.scatter(xy[:, 0], xy[:, 1], c=codes, cmap="tab20", s=4, linewidths=0)
        ax.set(title=name if name not in ari else f"{name} (ARI {ari[name]:.2f})", aspect="equal", xticks=[], yticks=[])
    return save_figure(fig, save)


def expression_maps(measured: ad.AnnData, imputed: ad.AnnData, genes: Sequence[str], save: SavePath = None) -> plt.Figure:
    """Measured (top row) vs imputed (bottom row) expression of ``genes`` in space, PCC in the titles."""
    imputed = align_cells(imputed, measured)
    missing = [g for g in genes if g not in measured.var_names or g not in imputed.var_names]
    if missing:
        raise SpaIMInputError(f"genes {missing[:3]} are not in both the measured and the imputed data: pick shared genes.")
    xy = _coordinates(measured)
    fig, axes = _panels(2 * len(genes), rows=2)
    for j, gene in enumerate(genes):
        x, y = dense(measured[:, gene]).ravel(), dense(imputed[:, gene]).ravel()
        for ax, values, what in ((axes[0, j], x, "measured"), (axes[1, j], y, f"imputed, PCC {pcc(x, y):.2f}")):
            ax.scatter(xy[:, 0], xy[:, 1], c=values, cmap="viridis", s=4, linewidths=0)
            ax.set(title=f"{gene} {what}", aspect="equal", xticks=[], yticks=[])
    return save_figure(fig, save)


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
    fig, axes = _panels(len(genes))
    for ax, gene in zip(axes.flat, genes, strict=False):
        ax.scatter(umap[:, 0], umap[:, 1], c=dense(work[:, gene]).ravel(), cmap="viridis", s=4, linewidths=0)
        ax.set(title=gene, xlabel="UMAP1", ylabel="UMAP2", xticks=[], yticks=[])
    return save_figure(fig, save)


def _coordinates(adata: ad.AnnData) -> np.ndarray:
    xy = spatial_coordinates(adata)
    if xy is None:
        raise SpaIMInputError("spatial plots need coordinates in obsm['spatial'] or obs x/y columns.")
    return xy
