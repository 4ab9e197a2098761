"""Shared figure helpers: panel grids, spatial scatters and atomic PNG output.

No backend is chosen here: matplotlib picks a non-interactive one by itself when there is
no display, and notebooks keep their inline figures.
"""

from __future__ import annotations

import io
import os

import anndata as ad
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from spaim.errors import SpaIMInputError
from spaim.io import atomic_path
from spaim.pairing import spatial_coordinates

SavePath = str | os.PathLike | None


def save_figure(fig: plt.Figure, save: SavePath) -> plt.Figure:
    """Write ``fig`` as a PNG to ``save`` atomically (overwriting), then close it; return ``fig``.

    The PNG holds a palette of 256 colours: plots use fewer distinct colours than that (a
    colour map has 256), so the image looks the same at about a third of the bytes, which
    matters for reports of many scatter panels.
    """
    if save is not None:
        rendered = io.BytesIO()
        fig.savefig(rendered, format="png", dpi=100, bbox_inches="tight")
        image = Image.open(rendered).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        with atomic_path(save, force=True) as tmp:
            image.save(tmp, format="png", optimize=True)
        plt.close(fig)
    return fig


def panels(n: int, size: float = 3.6, rows: int = 1) -> tuple[plt.Figure, np.ndarray]:
    """A figure with ``n`` square panels on ``rows`` rows (a 2-D array of axes)."""
    cols = int(np.ceil(max(n, 1) / rows))
    return plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)


def coordinates(adata: ad.AnnData) -> np.ndarray:
    """Cell coordinates, or a one-line error saying where they are expected."""
    xy = spatial_coordinates(adata)
    if xy is None:
        raise SpaIMInputError("spatial plots need coordinates in obsm['spatial'] or obs x/y columns: add them first.")
    return xy


def spatial_scatter(ax: plt.Axes, xy: np.ndarray, values: np.ndarray, title: str, cmap: str = "viridis") -> None:
    """Cells at their coordinates coloured by ``values``, on the panel's own colour scale."""
    order = np.argsort(values, kind="stable")  # high values drawn last, on top
    size = float(np.clip(4000 / max(len(values), 1), 2, 30))  # sparse slides (100 beads) need larger dots
    ax.scatter(xy[order, 0], xy[order, 1], c=values[order], s=size, cmap=cmap, linewidths=0)
    ax.set_title(title, fontsize=9)
    ax.set(aspect="equal", xticks=[], yticks=[])


def check_genes(adata: ad.AnnData, genes, what: str) -> list[str]:
    """``genes`` as a list, with a one-line error naming any that ``adata`` lacks."""
    genes = [genes] if isinstance(genes, str) else list(genes)
    if not genes:
        raise SpaIMInputError(f"no genes given to plot: pass one or more of the {what}'s var_names.")
    missing = [g for g in genes if g not in adata.var_names]
    if missing:
        raise SpaIMInputError(f"{len(missing)} gene(s) are not in the {what} (e.g. {missing[:3]}): pick genes from its var_names.")
    return genes
