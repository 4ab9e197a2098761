"""From raw counts to the model's inputs: log1p, SC gene filter, SC clusters, cluster profiles."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from spaim._threads import preserve_torch_threads
from spaim.errors import SpaIMInputError
from spaim.options import SetupOptions

Matrix = np.ndarray | sp.csr_matrix


def size_factors(counts: Matrix) -> np.ndarray:
    """Per-cell scale to the median library size (scanpy's ``normalize_total`` default)."""
    totals = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    target = np.median(totals[totals > 0]) if np.any(totals > 0) else 1.0
    return np.divide(target, totals, out=np.zeros_like(totals), where=totals > 0)


def log1p_dense(counts: Matrix, factors: np.ndarray | None = None, cells_axis: int = 0) -> np.ndarray:
    """A new dense, C-ordered float32 ``log1p(counts * factors)``; ``factors=None`` is plain ``log1p``.

    ``cells_axis=1`` reads ``counts`` as genes x cells (the factors scale its columns).
    """
    if sp.issparse(counts):  # toarray's result is ours to modify in place
        dense = counts.toarray(order="C").astype(np.float32, copy=False)
    else:
        dense = np.array(counts, dtype=np.float32, order="C")
    if factors is not None:
        scale = factors.astype(np.float32)
        dense *= scale[:, None] if cells_axis == 0 else scale[None, :]
    return np.log1p(dense, out=dense)


def expressed_fraction(counts: Matrix) -> np.ndarray:
    """Fraction of cells with a non-zero count, per gene."""
    nonzero = (counts > 0).sum(axis=0)
    return np.asarray(nonzero, dtype=np.float64).ravel() / counts.shape[0]


def leiden_clusters(
    counts: Matrix,
    resolution: float = 1.0,
    n_clusters: int | None = None,
    seed: int = 0,
    n_top_genes: int = 2000,
) -> np.ndarray:
    """Leiden clusters of SC cells by the standard scanpy route.

    normalise_total -> log1p -> highly variable genes (when there are more genes than
    ``n_top_genes``) -> scale -> PCA -> kNN graph -> Leiden. With ``n_clusters`` the
    resolution is searched by bisection to give that many clusters (or the closest).

    Returns
    -------
    Integer cluster labels, one per cell.
    """
    n_cells = counts.shape[0]
    if n_clusters is not None and not 1 <= n_clusters <= n_cells:
        raise SpaIMInputError(f"n_clusters={n_clusters} must be between 1 and the number of SC cells ({n_cells}): lower it.")
    return _leiden_of_embedding(_pca_embedding(counts, seed, n_top_genes), resolution, n_clusters, seed)


def _leiden_of_embedding(embedding: ad.AnnData, resolution: float, n_clusters: int | None, seed: int) -> np.ndarray:
    graph = neighbour_graph(graph_representation(embedding))
    if n_clusters is None:
        return leiden_on_graph(graph, resolution, seed)
    return leiden_with_n_clusters(graph, n_clusters, seed)


#: Most metacells of a reference; smaller references get one per ``_CELLS_PER_METACELL`` cells.
MAX_METACELLS = 200
_CELLS_PER_METACELL = 5


def metacells(pcs: np.ndarray, clusters: np.ndarray, seed: int = 0) -> np.ndarray:
    """Small groups of similar SC cells inside each cluster: k-means on their principal components.

    SpaIM's transfer path can map ST cells to these rather than to whole clusters: finer
    than cell types, so that states within a type can differ in space, yet few enough
    (:data:`MAX_METACELLS`, shared among clusters by size) that nothing grows with the
    reference. Nested in the clusters, so a cluster's mean is the size-weighted mean of
    its metacells' means.

    Returns
    -------
    Integer metacell labels, one per cell, numbered cluster by cluster.
    """
    from sklearn.cluster import KMeans

    pcs = np.asarray(pcs, dtype=np.float64)
    total = int(np.clip(len(pcs) // _CELLS_PER_METACELL, 1, MAX_METACELLS))
    labels = np.empty(len(pcs), dtype=np.int64)
    offset = 0
    for cluster in np.unique(clusters):
        cells = np.flatnonzero(clusters == cluster)
        n = int(min(max(1, round(total * len(cells) / len(pcs))), max(1, len(cells) // _CELLS_PER_METACELL)))
        found = np.zeros(len(cells), dtype=np.int64) if n == 1 else KMeans(n, n_init=1, random_state=seed).fit_predict(pcs[cells])
        codes = np.unique(found, return_inverse=True)[1]  # consecutive even if a centre ends up empty
        labels[cells] = offset + codes
        offset += codes.max() + 1
    return labels


def _pca_embedding(counts: Matrix, seed: int, n_top_genes: int = 2000) -> ad.AnnData:
    """The cells' principal components (``obsm["X_pca"]``) by scanpy's standard route."""
    import scanpy as sc  # here, not at the top: tile workers never cluster and skip its import

    adata = ad.AnnData(sp.csr_matrix(counts, dtype=np.float32))
    with warnings.catch_warnings(), preserve_torch_threads():
        warnings.simplefilter("ignore")
        sc.pp.normalize_total(adata)
        sc.pp.log1p(adata)
        if adata.n_vars > n_top_genes:
            sc.pp.highly_variable_genes(adata, n_top_genes=n_top_genes, subset=True)
        _check_varying(adata.X)
        sc.pp.scale(adata, max_value=10)
        n_comps = max(1, min(50, adata.n_vars - 1, adata.n_obs - 1))
        sc.pp.pca(adata, n_comps=n_comps, random_state=seed)
    return adata


def _check_varying(log_expr: sp.csr_matrix) -> None:
    """Refuse a reference whose cells are (nearly) all alike: PCA would return NaN."""
    log_expr = sp.csr_matrix(log_expr, dtype=np.float64)
    mean = np.asarray(log_expr.mean(axis=0)).ravel()
    variance = np.asarray(log_expr.multiply(log_expr).mean(axis=0)).ravel() - mean**2
    varying = variance > 1e-9 * np.maximum(mean**2, 1.0)
    if varying.sum() < 2:
        raise SpaIMInputError(
            f"the cells to cluster barely differ ({int(varying.sum())} gene(s) vary across them): there is nothing to cluster; "
            "give cell-type labels with labels_key (CLI: --labels-key) or a more varied reference."
        )


#: Neighbours per cell of the Leiden graph (scanpy's default).
N_GRAPH_NEIGHBOURS = 15
#: UMAP's binary search for each cell's kernel width: steps, tolerance, and the floor as a share of the mean distance.
_SIGMA_STEPS, _SIGMA_TOLERANCE, _MIN_SIGMA_SHARE = 64, 1e-5, 1e-3


#: Up to this many genes, cells are compared on their scaled expression rather than on principal components (scanpy's rule).
_MAX_GENES_WITHOUT_PCS = 50


def graph_representation(adata: ad.AnnData) -> np.ndarray:
    """What the neighbour graph compares: ``X`` for a panel of at most 50 genes, else ``obsm["X_pca"]`` (as scanpy does)."""
    x = adata.X if adata.n_vars <= _MAX_GENES_WITHOUT_PCS else adata.obsm["X_pca"]
    return x.toarray() if sp.issparse(x) else np.asarray(x)


def neighbour_graph(embedding: np.ndarray, n_neighbors: int = N_GRAPH_NEIGHBOURS) -> sp.csr_matrix:
    """Weighted kNN graph of cells: exact Euclidean neighbours, UMAP's fuzzy-union weights.

    The graph of ``scanpy.pp.neighbors`` (``umap.fuzzy_simplicial_set`` with local
    connectivity 1; McInnes et al. 2018), computed with numpy: each cell's neighbour at
    distance ``d`` gets ``exp(-(d - rho) / sigma)``, ``rho`` the distance to its nearest
    other cell and ``sigma`` found by bisection so that the weights of its
    ``n_neighbors - 1`` neighbours sum to ``log2(n_neighbors)``; the graph is then
    symmetrised as ``W + W.T - W * W.T``. Through scanpy the same graph cost about 8 s of
    CPU per process in numba compilation before any cell was touched. Neighbours are
    found as scanpy's exact search finds them (ties between duplicate cells included), so
    the Leiden clusters of the bundled references and ST panels are the ones scanpy gave;
    the search is exact at every size (scikit-learn, brute force, chunked: bounded memory,
    about 2 s of CPU for 20,000 cells), where scanpy switches to an approximate one.

    Parameters
    ----------
    embedding
        Cells x components (e.g. principal components).
    n_neighbors
        Neighbours per cell, the cell itself included (as scanpy counts them).
    """
    from sklearn.neighbors import NearestNeighbors

    embedding = np.asarray(embedding)
    n = embedding.shape[0]
    k = int(min(n_neighbors, n - 1))  # as the callers asked scanpy for min(n_neighbors, cells - 1)
    if k < 2:
        return sp.csr_matrix((n, n), dtype=np.float32)
    # The cells are queried as new points, as scanpy's search does: each finds itself (ties with duplicate cells
    # ordered as scanpy gets them), a column of cells themselves is added only if no row starts with itself, and
    # a cell's distance to itself reads 0 (the search computes it as a rounding error)
    search = NearestNeighbors(algorithm="brute", metric="euclidean").fit(embedding)
    distances, indices = search.kneighbors(embedding, n_neighbors=k + 1)
    if not np.any(indices[:, 0] == np.arange(n)):
        indices = np.hstack([np.arange(n)[:, None], indices])
        distances = np.hstack([np.zeros((n, 1)), distances])
    itself = indices == np.arange(n)[:, None]
    distances[itself] = 0
    indices, distances, itself = indices[:, :k], distances[:, :k].astype(np.float32), itself[:, :k]
    rho, sigma = _kernel_widths(distances, k)
    offset = distances - rho[:, None]
    decay = np.exp(-(np.maximum(offset, 0) / np.where(sigma == 0, 1, sigma)[:, None]))
    weights = np.where((offset <= 0) | (sigma[:, None] == 0), np.float32(1.0), decay).astype(np.float32)
    weights[itself] = 0  # no edge from a cell to itself
    directed = sp.csr_matrix((weights.ravel(), (np.repeat(np.arange(n), k), indices.ravel())), shape=(n, n))
    directed.eliminate_zeros()
    graph = directed + directed.T - directed.multiply(directed.T)
    graph.eliminate_zeros()
    return sp.csr_matrix(graph, dtype=np.float32)


def _kernel_widths(distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """UMAP's ``rho`` (nearest non-zero distance) and ``sigma`` (bisection) per cell, all cells at once."""
    n = distances.shape[0]
    positive = distances > 0
    rho = np.where(positive.any(axis=1), distances[np.arange(n), positive.argmax(axis=1)], 0).astype(np.float32)
    offset = distances[:, 1:] - rho[:, None]
    target = np.log2(k)
    ceiling = float(np.finfo(np.float32).max)
    lo, hi, mid = np.zeros(n), np.full(n, ceiling), np.ones(n)
    searching = np.ones(n, dtype=bool)
    for _ in range(_SIGMA_STEPS):
        total = np.zeros(n)
        for j in range(offset.shape[1]):  # summed in column order, as UMAP's loop does
            d = offset[:, j]
            total += np.where(d > 0, np.exp(-(np.maximum(d, 0) / mid)), 1.0)
        searching &= np.abs(total - target) >= _SIGMA_TOLERANCE
        if not searching.any():
            break
        over = searching & (total > target)
        under = searching & ~over
        hi = np.where(over, mid, hi)
        lo = np.where(under, mid, lo)
        mid = np.where(over | (under & (hi < ceiling)), (lo + hi) / 2, np.where(under, mid * 2, mid))
    sigma = mid.astype(np.float32)
    floor = _MIN_SIGMA_SHARE * np.where(rho > 0, distances.mean(axis=1), distances.mean())
    return rho, np.maximum(sigma, floor.astype(np.float32))


def leiden_on_graph(graph: sp.spmatrix, resolution: float, seed: int) -> np.ndarray:
    """Leiden clusters (integer labels) of a weighted cell graph (e.g. :func:`neighbour_graph`) at ``resolution``."""
    import scanpy as sc

    cells = ad.AnnData(obs=pd.DataFrame(index=np.arange(graph.shape[0]).astype(str)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.tl.leiden(
            cells, resolution=resolution, random_state=seed, flavor="igraph", n_iterations=2, directed=False,
            adjacency=sp.csr_matrix(graph), key_added="_k",
        )
    return cells.obs["_k"].astype(int).to_numpy()


def leiden_with_n_clusters(graph: sp.spmatrix, n_clusters: int, seed: int) -> np.ndarray:
    """Leiden on a neighbour graph, bisecting the resolution to give ``n_clusters`` (or the closest count)."""
    lo, hi = 0.01, 10.0
    best = leiden_on_graph(graph, 1.0, seed)
    for _ in range(20):
        if len(np.unique(best)) == n_clusters:
            break
        mid = np.sqrt(lo * hi)
        labels = leiden_on_graph(graph, mid, seed)
        if abs(len(np.unique(labels)) - n_clusters) < abs(len(np.unique(best)) - n_clusters):
            best = labels
        lo, hi = (mid, hi) if len(np.unique(labels)) < n_clusters else (lo, mid)
    return best


def log1p_counts(counts: Matrix, factors: np.ndarray | None = None) -> Matrix:
    """float32 ``log1p(counts * factors)`` that keeps a sparse matrix sparse (zeros stay zeros)."""
    if not sp.issparse(counts):
        return log1p_dense(counts, factors)
    out = sp.csr_matrix(counts, dtype=np.float32, copy=True)
    if factors is not None:
        out = sp.csr_matrix(sp.diags(factors.astype(np.float32)) @ out)
    np.log1p(out.data, out=out.data)
    return out


def cluster_profiles(log_expr: Matrix, labels: np.ndarray, stat: str = "median") -> np.ndarray:
    """Genes x clusters matrix of each gene's median (or mean) log expression per cluster.

    Means come from :func:`scanpy.get.aggregate`, which reads a sparse matrix as it is;
    medians densify one cluster's cells at a time.
    """
    if stat not in ("median", "mean"):
        raise SpaIMInputError(f"profile statistic '{stat}' is unknown: use 'median' or 'mean'.")
    if stat == "mean":
        import scanpy as sc

        groups = pd.DataFrame({"cluster": pd.Categorical(labels)}, index=np.arange(len(labels)).astype(str))
        means = sc.get.aggregate(ad.AnnData(log_expr, obs=groups), by="cluster", func="mean").layers["mean"]
        return np.asarray(means, dtype=np.float32).T
    clusters, codes = np.unique(labels, return_inverse=True)
    columns = []
    for k in range(len(clusters)):
        block = log_expr[codes == k]
        block = block.toarray() if sp.issparse(block) else block
        columns.append(np.median(block, axis=0))
    return np.stack(columns, axis=1).astype(np.float32)


@dataclass
class SCReference:
    """The SC side of the model: which genes it can impute and their cluster profiles."""

    genes: pd.Index
    profiles: np.ndarray  # genes x clusters, log scale
    labels: np.ndarray  # one cluster per SC cell
    cluster_names: list[str]
    metacell_profiles: np.ndarray  # genes x metacells, mean log expression
    metacell_sizes: np.ndarray  # SC cells per metacell
    metacell_clusters: np.ndarray  # the cluster (column of ``profiles``) each metacell lies in

    @property
    def n_clusters(self) -> int:
        return self.profiles.shape[1]

    @property
    def n_metacells(self) -> int:
        return self.metacell_profiles.shape[1]

    def profiles_of(self, genes: Sequence[str]) -> np.ndarray:
        return self.profiles[self.genes.get_indexer(genes)]

    def metacell_profiles_of(self, genes: Sequence[str]) -> np.ndarray:
        return self.metacell_profiles[self.genes.get_indexer(genes)]


def build_sc_reference(
    counts: Matrix,
    genes: pd.Index,
    keep: Sequence[str] = (),
    labels: Sequence | None = None,
    options: SetupOptions | None = None,
) -> SCReference:
    """Filter SC genes, cluster SC cells (or use ``labels``), group them into metacells, and profile both.

    Genes in ``keep`` (shared genes, genes the user wants imputed) survive the filter.
    ``options`` (default :class:`spaim.options.SetupOptions`) give the filter threshold,
    the clustering, the profile statistic and normalisation.
    """
    options = options or SetupOptions()
    fraction = expressed_fraction(counts)
    mask = (fraction >= options.min_cell_fraction) | genes.isin(list(keep))
    embedding = _pca_embedding(counts, options.seed)
    if labels is None:
        cluster_ids = _leiden_of_embedding(embedding, options.resolution, options.n_clusters, options.seed)
        names = [str(k) for k in np.unique(cluster_ids)]
        if len(names) < 2:
            raise SpaIMInputError(
                f"the SC reference forms a single Leiden cluster at resolution {options.resolution:g}: every imputed gene "
                "would get the same pattern; raise resolution, ask for n_clusters >= 2, or give labels_key."
            )
    else:
        codes = pd.Categorical(np.asarray(labels).astype(str))
        cluster_ids, names = codes.codes.astype(int), list(codes.categories)
    kept = counts[:, np.flatnonzero(mask)]
    log_expr = log1p_counts(kept, size_factors(counts) if options.normalize else None)
    profiles = cluster_profiles(log_expr, cluster_ids, options.profile_stat)
    metacell_ids = metacells(embedding.obsm["X_pca"], cluster_ids, options.seed)
    first_cell = np.unique(metacell_ids, return_index=True)[1]
    return SCReference(genes=genes[mask], profiles=profiles, labels=cluster_ids, cluster_names=names,
                       metacell_profiles=cluster_profiles(log_expr, metacell_ids, "mean"),
                       metacell_sizes=np.bincount(metacell_ids).astype(np.float32),
                       metacell_clusters=np.unique(cluster_ids, return_inverse=True)[1][first_cell])
