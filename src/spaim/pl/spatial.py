"""Expression in space: imputed genes, and measured next to imputed."""

from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import matplotlib.pyplot as plt
import scanpy as sc

from spaim.downstream.expression import align_cells, dense
from spaim.metrics import pcc
from spaim.pl._figure import SavePath, check_genes, coordinates, panels, save_figure, spatial_scatter


def spatial(
    adata: ad.AnnData,
    genes: str | Sequence[str],
    *,
    layer: str | None = None,
    ncols: int = 4,
    cmap: str = "viridis",
    size: float | None = None,
    save: SavePath = None,
    **kwargs,
) -> plt.Figure:
    """Genes of ``adata`` (e.g. :meth:`spaim.SpaIM.impute`'s output) at the cells' coordinates.

    Draws with :func:`scanpy.pl.embedding` on the ``"spatial"`` basis, one panel per gene.

    Parameters
    ----------
    adata
        Cells x genes with coordinates in ``obsm["spatial"]`` (or ``obs`` x/y columns).
    genes
        Gene(s) to draw.
    layer
        Layer to read instead of ``X``.
    ncols
        Panels per row.
    cmap
        Colour map.
    size
        Dot size (scanpy's default when ``None``).
    save
        Also write the figure as a PNG there (and close it).
    **kwargs
        Passed to :func:`scanpy.pl.embedding` (``vmax="p99"``, ``frameon``, ...).

    Returns
    -------
    The figure.
    """
    genes = check_genes(adata, genes, "data")
    # A small view with only the drawn genes: coordinates may live in obs columns, and
    # scanpy needs them in obsm; copying only these columns keeps memory small.
    view = ad.AnnData(
        X=adata[:, genes].X if layer is None else adata[:, genes].layers[layer],
        obs=adata.obs[[]].copy(),
        var=adata.var[[]].loc[genes],
        obsm={"spatial": coordinates(adata)},
    )
    fig = sc.pl.embedding(
        view, basis="spatial", color=genes, ncols=ncols, cmap=cmap, size=size, show=False, return_fig=True, **kwargs
    )
    for ax in fig.axes:
        if ax.get_label() != "<colorbar>":
            ax.set_aspect("equal")
    return save_figure(fig, save)


def measured_vs_imputed(
    measured: ad.AnnData, imputed: ad.AnnData, genes: str | Sequence[str], save: SavePath = None
) -> plt.Figure:
    """Measured (top row) vs imputed (bottom row) expression of ``genes`` in space, PCC in the titles.

    Parameters
    ----------
    measured
        Measured log1p expression (e.g. :func:`spaim.downstream.log_expression` of the ST data).
    imputed
        Imputed log1p expression of the same cells (any order), e.g. the held-out predictions
        of :func:`spaim.cross_validate` with ``return_predictions=True``.
    genes
        Genes in both.
    save
        Also write the figure as a PNG there (and close it).

    Returns
    -------
    The figure.
    """
    imputed = align_cells(imputed, measured)
    genes = check_genes(measured, genes, "measured data")
    check_genes(imputed, genes, "imputed data")
    xy = coordinates(measured)
    fig, axes = panels(2 * len(genes), rows=2)
    for j, gene in enumerate(genes):
        x, y = dense(measured[:, gene]).ravel(), dense(imputed[:, gene]).ravel()
        spatial_scatter(axes[0, j], xy, x, f"{gene} measured")
        spatial_scatter(axes[1, j], xy, y, f"{gene} imputed, PCC {pcc(x, y):.2f}")
    return save_figure(fig, save)


__all__ = ["measured_vs_imputed", "spatial"]
