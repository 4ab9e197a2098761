import numpy as np

from spaim.baselines import cluster_transfer_impute
from spaim.benchmark.inputs import build_inputs
from spaim.benchmark.methods import method_class


def test_cluster_transfer_recovers_the_cluster_of_each_cell():
    rng = np.random.default_rng(0)
    profiles = rng.gamma(1.0, 1.0, (40, 4))  # genes x clusters
    cluster = rng.integers(0, 4, 300)
    st = profiles[:, cluster].T + rng.normal(0, 0.05, (300, 40))
    pred, temperature = cluster_transfer_impute(st[:, :30], profiles[:30], profiles[30:])
    assert temperature in (0.02, 0.05, 0.1, 0.2, 0.5)
    np.testing.assert_allclose(pred, profiles[30:, cluster].T, atol=0.05)


def test_floors_predict_every_held_out_gene(pair):
    st, sc = pair
    inputs = build_inputs(st, sc)
    fold = inputs.folds(4, seed=0)[0]
    for name in ("libsize", "gene_mean", "cluster_transfer"):
        method = method_class(name)(seed=0)
        method.setup(inputs)
        pred = method.predict(inputs, fold)
        assert pred.shape == (st.n_obs, len(fold.test)) and np.isfinite(pred).all()
    libsize = method_class("libsize")().predict(inputs, fold)
    assert (libsize == libsize[:, :1]).all()  # the same vector for every gene
    gene_mean = method_class("gene_mean")().predict(inputs, fold)
    assert (gene_mean == gene_mean[:1]).all()  # the same value in every cell
