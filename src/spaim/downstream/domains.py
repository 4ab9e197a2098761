"""Spatial domains: cluster cells on an expression matrix and score the clusters against labels by ARI."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
from sklearn.metrics import adjusted_rand_score

from spaim.downstream.expression import dense
from spaim.errors import SpaIMInputError
from spaim.preprocessing import graph_representation, leiden_clusters, leiden_on_graph, leiden_with_n_clusters, neighbour_graph
from spaim.validation import expression_matrix


def cluster_cells(
    adata: ad.AnnData, n_clusters: int | None, n_pcs: int = 30, n_neighbors: int = 15, seed: int = 0
) -> np.ndarray:
    """Leiden clusters of cells on log-scale expression, the resolution searched to give ``n_clusters``.

    scale -> PCA -> kNN graph -> Leiden (bisection on the resolution; the closest count
    is kept when ``n_clusters`` cannot be hit exactly; resolution 1 when ``n_clusters`` is None).

    Parameters
    ----------
    adata
        Cells x genes, log-scale expression in ``X`` (raw or imputed); not modified.
    n_clusters
        Wanted number of clusters, e.g. the number of labelled cell types.

    Returns
    -------
    One string cluster label per cell.
    """
    if n_clusters is not None and not 1 <= n_clusters <= adata.n_obs:
        raise SpaIMInputError(f"n_clusters={n_clusters} must be between 1 and the number of cells ({adata.n_obs}).")
    work = ad.AnnData(X=dense(adata))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.pp.scale(work, max_value=10)
        n_comps = max(1, min(n_pcs, work.n_vars - 1, work.n_obs - 1))
        sc.pp.pca(work, n_comps=n_comps, random_state=seed)
    graph = neighbour_graph(graph_representation(work), n_neighbors)
    labels = leiden_on_graph(graph, 1.0, seed) if n_clusters is None else leiden_with_n_clusters(graph, n_clusters, seed)
    return labels.astype(str)


def reference_partition(st: ad.AnnData, layer: str | None = None, allow_non_integer: bool = False, seed: int = 0) -> np.ndarray:
    """Leiden clusters (resolution 1) of measured ST counts, for data without cell-type labels.

    Uses the standard scanpy route of :func:`spaim.preprocessing.leiden_clusters`
    (normalise, log1p, HVG, scale, PCA, kNN, Leiden), so it differs from
    :func:`cluster_cells` on the same data.
    """
    counts = expression_matrix(st, "ST", layer, allow_non_integer)
    return leiden_clusters(counts, resolution=1.0, seed=seed).astype(str)


def domain_scores(
    data: Mapping[str, ad.AnnData], labels: np.ndarray, seed: int = 0, **kwargs
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cluster every expression matrix into as many domains as label groups and score by ARI.

    Parameters
    ----------
    data
        ``{name: log-scale AnnData}`` over the same cells, in the order of ``labels``.
    labels
        Reference partition (cell types, or :func:`reference_partition`).
    **kwargs
        Passed to :func:`cluster_cells`.

    Returns
    -------
    ``(scores, clusters)``: one row per dataset with ``data, n_clusters, ari``; and a
    cells x datasets table of cluster labels (plus the ``reference`` column).
    """
    labels = np.asarray(labels).astype(str)
    n = len(np.unique(labels))
    cells = next(iter(data.values())).obs_names if data else None
    clusters = pd.DataFrame({"reference": labels}, index=cells)
    rows = []
    for name, adata in data.items():
        if adata.n_obs != len(labels):
            raise SpaIMInputError(f"'{name}' has {adata.n_obs} cells but there are {len(labels)} labels.")
        found = cluster_cells(adata, n, seed=seed, **kwargs)
        clusters[name] = found
        rows.append({"data": name, "n_clusters": len(np.unique(found)), "ari": adjusted_rand_score(labels, found)})
    return pd.DataFrame(rows), clusters
