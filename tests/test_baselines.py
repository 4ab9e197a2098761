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
