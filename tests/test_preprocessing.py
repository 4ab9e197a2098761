import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from spaim.cell_basis import Metacells
from spaim.options import SetupOptions
from spaim.preprocessing import (
    MAX_METACELLS, build_sc_reference, cluster_profiles, leiden_clusters, log1p_counts, log1p_dense, metacells, neighbour_graph,
    size_factors,
)


def test_log1p_is_natural_log_and_optionally_normalised():
    counts = np.array([[1.0, 3.0], [2.0, 2.0], [0.0, 8.0]])
    assert np.allclose(log1p_dense(counts), np.log1p(counts))
    factors = size_factors(counts)
    assert np.allclose((counts * factors[:, None]).sum(1), 4.0)  # median total
    assert np.allclose(log1p_dense(sp.csr_matrix(counts), factors), np.log1p(counts * factors[:, None]))


def test_cluster_profiles_median_and_mean():
    log_expr = np.array([[0.0, 1.0], [0.0, 3.0], [2.0, 5.0], [4.0, 5.0], [9.0, 5.0]])
    labels = np.array([0, 0, 1, 1, 1])
    assert np.allclose(cluster_profiles(log_expr, labels, "median"), [[0.0, 4.0], [2.0, 5.0]])
    assert np.allclose(cluster_profiles(log_expr, labels, "mean"), [[0.0, 5.0], [2.0, 5.0]])


def test_leiden_reaches_a_target_number_of_clusters(merfish):
    _, sc = merfish
    labels = leiden_clusters(sc.X, n_clusters=8, seed=0)
    assert len(np.unique(labels)) == 8
    assert np.array_equal(labels, leiden_clusters(sc.X, n_clusters=8, seed=0))


def test_reference_filters_rare_genes_but_keeps_requested_ones(merfish):
    _, sc = merfish
    frac = (sc.X > 0).mean(0)
    rare = sc.var_names[np.argmin(frac)]
    assert frac.min() < 0.1
    ref = build_sc_reference(sc.X, sc.var_names, labels=sc.obs["cell_type"])
    assert rare not in ref.genes and len(ref.genes) == int((frac >= 0.1).sum())
    kept = build_sc_reference(sc.X, sc.var_names, keep=[rare], labels=sc.obs["cell_type"], options=SetupOptions(profile_stat="median", normalize=False))
    assert rare in kept.genes
    assert kept.n_clusters == sc.obs["cell_type"].nunique()
    col = list(kept.cluster_names).index(sc.obs["cell_type"].iloc[0])
    gene = kept.genes[0]
    cells = (sc.obs["cell_type"] == sc.obs["cell_type"].iloc[0]).to_numpy()
    expected = np.median(np.log1p(sc[cells, gene].X.ravel()))
    assert kept.profiles_of([gene])[0, col] == pytest.approx(expected)
    assert isinstance(kept.genes, pd.Index)


def test_metacells_lie_inside_clusters_and_average_to_their_means(merfish):
    _, sc = merfish
    ref = build_sc_reference(sc.X, sc.var_names, labels=sc.obs["cell_type"], options=SetupOptions(profile_stat="mean"))
    assert sc.n_obs // 5 >= ref.n_metacells >= ref.n_clusters and ref.n_metacells <= MAX_METACELLS
    assert ref.metacell_sizes.sum() == sc.n_obs and (ref.metacell_sizes >= 1).all()
    units = Metacells(ref.metacell_profiles, ref.metacell_sizes, ref.metacell_clusters)
    np.testing.assert_allclose(units.cluster_profiles(), ref.profiles, atol=1e-4)  # nested: metacell means pool to cluster means


def test_metacells_are_capped_and_shared_among_clusters_by_size():
    rng = np.random.default_rng(0)
    clusters = np.repeat([0, 1], [4000, 1000])
    pcs = rng.normal(size=(5000, 5)) + clusters[:, None] * 10
    labels = metacells(pcs, clusters, seed=0)
    counts = [len(np.unique(labels[clusters == k])) for k in (0, 1)]
    assert counts == [160, 40]  # 200 metacells, 4:1 like the clusters
    assert not set(labels[clusters == 0]) & set(labels[clusters == 1])
    np.testing.assert_array_equal(labels, metacells(pcs, clusters, seed=0))


def test_profiles_of_sparse_data_match_the_dense_ones(merfish):
    _, sc = merfish
    counts = sp.csr_matrix(sc.X)
    factors = size_factors(counts)
    log_sparse = log1p_counts(counts, factors)
    assert sp.issparse(log_sparse) and log_sparse.nnz == counts.nnz
    labels = pd.Categorical(sc.obs["cell_type"]).codes
    dense = log1p_dense(counts, factors)
    for stat, reduce in (("mean", np.mean), ("median", np.median)):
        expected = np.stack([reduce(dense[labels == k], axis=0) for k in np.unique(labels)], axis=1)
        assert np.allclose(cluster_profiles(log_sparse, labels, stat), expected, atol=1e-5)


def test_log1p_dense_reads_genes_x_cells_with_cells_axis_1():
    counts = sp.random(30, 8, density=0.4, format="csr", random_state=0, data_rvs=lambda n: np.arange(1, n + 1) % 5 + 1.0)
    factors = size_factors(counts)
    assert np.allclose(log1p_dense(counts.T, factors, cells_axis=1), log1p_dense(counts, factors).T)


def test_leiden_on_a_reference_above_scanpys_exact_search_limit():
    """Regression: >= 8,192 cells took scanpy's pynndescent route and failed on scipy >= 1.17; the graph is now exact at every size."""
    rng = np.random.default_rng(0)
    n_cells, n_types = 10_000, 4
    types = rng.integers(0, n_types, n_cells)
    rates = np.zeros((n_types, 40))
    for k in range(n_types):
        rates[k, 10 * k : 10 * k + 10] = 5.0  # each type expresses its own ten genes
    counts = sp.csr_matrix(rng.poisson(rates[types] + 0.05).astype(np.float32))
    labels = leiden_clusters(counts, resolution=0.1, seed=0)
    assert len(labels) == n_cells
    agreement = pd.crosstab(labels, types).max(axis=1).sum() / n_cells
    assert agreement > 0.99  # the clusters recover the planted cell types
    assert np.array_equal(labels, leiden_clusters(counts, resolution=0.1, seed=0))


def test_neighbour_graph_has_scanpys_umap_weights_and_edges():
    import anndata as ad
    import scanpy as sc

    rng = np.random.default_rng(1)
    embedding = (rng.normal(0, 3, (5, 10))[rng.integers(0, 5, 400)] + rng.normal(size=(400, 10))).astype(np.float32)
    embedding[[7, 8, 9]] = embedding[6]  # duplicate cells: ties at distance 0, as in real references
    reference = ad.AnnData(obs=pd.DataFrame(index=np.arange(400).astype(str)))
    reference.obsm["X_pca"] = embedding
    sc.pp.neighbors(reference, n_neighbors=15, use_rep="X_pca")
    graph = neighbour_graph(embedding)
    assert np.allclose(graph.toarray(), reference.obsp["connectivities"].toarray(), atol=1e-6)
    assert ((graph != 0) != (reference.obsp["connectivities"] != 0)).nnz == 0  # the same edges
    assert abs(graph - graph.T).max() == 0 and graph.diagonal().max() == 0
