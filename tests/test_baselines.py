import numpy as np

from spaim.baselines import knn_impute


def test_knn_copies_the_matching_sc_cells():
    rng = np.random.default_rng(0)
    sc_train = rng.random((60, 8))
    sc_target = rng.random((60, 3))
    # ST cells that are near-copies of the SC cells (z-scoring uses each side's own statistics)
    st_full = sc_train + 1e-4
    pred = knn_impute(st_full, sc_train, sc_target, k=1, n_components=7)
    assert np.allclose(pred[:10], sc_target[:10])


def test_knn_returns_means_of_k_neighbours():
    sc_train = np.repeat(np.eye(4), 5, axis=0)  # 4 groups of 5 identical cells
    sc_target = np.repeat(np.arange(4.0)[:, None], 5, axis=0)
    pred = knn_impute(np.eye(4), sc_train, sc_target, k=5, n_components=3)
    assert np.allclose(pred.ravel(), np.arange(4.0))


def test_cell_basis_has_assignment_pcs_and_their_spatial_means():
    from spaim.cell_basis import Metacells, build_cell_basis

    rng = np.random.default_rng(0)
    profiles = rng.gamma(1.0, 1.0, (30, 5))
    cluster = np.repeat(np.arange(5), 40)
    st = profiles[:, cluster].T + rng.normal(0, 0.1, (200, 30))
    coords = np.column_stack([cluster + rng.normal(0, 0.2, 200), rng.random(200)])
    units = Metacells(profiles, np.full(5, 40.0), np.arange(5))
    basis = build_cell_basis(st, units, coords, n_pcs=4)
    assert basis.features.shape == (200, 2 * (5 + 4))
    np.testing.assert_allclose(basis.features.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(basis.assignment.sum(axis=1), 1, atol=1e-5)
    assert (basis.assignment.argmax(axis=1) == cluster).mean() > 0.95
    assert build_cell_basis(st, units, None, n_pcs=4).features.shape == (200, 9)
