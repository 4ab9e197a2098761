import numpy as np
import pytest

from spaim import cross_validate
from spaim.baselines import knn_predictor
from spaim.crossval import fold_arrays, make_folds, run_folds, spaim_predictor
from spaim.errors import SpaIMInputError
from spaim.pairing import prepare_pair


def test_folds_partition_the_genes():
    folds = make_folds(23, 5, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(23))
    assert [len(f) for f in folds] == [5, 5, 5, 4, 4]
    assert all(np.array_equal(a, b) for a, b in zip(folds, make_folds(23, 5, seed=1)))
    with pytest.raises(SpaIMInputError, match="folds=1 is out of range"):
        make_folds(10, 1)


def test_held_out_genes_never_reach_the_model(small_pair):
    st, sc = small_pair
    data = prepare_pair(st, sc, labels_key="cell_type")
    seen = []

    def spy(fold_data, train, test):
        sub = fold_data.subset(train)
        seen.append(set(sub.shared_st))
        assert not set(sub.shared_st) & {fold_data.shared_st[i] for i in test}
        return np.zeros((fold_data.n_cells, len(test)), dtype=np.float32)

    table = run_folds(data, spy, folds=4, seed=0, progress=False)
    assert sorted(table.gene) == sorted(data.shared_st) and table.gene.is_unique
    assert len(seen) == 4


def test_cross_validate_table_shape(small_pair):
    st, sc = small_pair
    table, predictions = cross_validate(
        st[:, :40].copy(), sc, folds=4, seed=0, labels_key="cell_type", widths=(32, 16),
        max_epochs=5, return_predictions=True, progress=False,
    )
    assert list(table.columns) == ["gene", "fold", "pcc", "ssim", "rmse", "js"]
    assert sorted(table.gene) == sorted(st.var_names[:40])
    assert set(table.fold) == {0, 1, 2, 3}
    assert predictions.shape == (st.n_obs, 40) and np.isfinite(predictions.X).all()


def test_normalisation_uses_training_genes_only(small_pair):
    st, sc = small_pair
    data = prepare_pair(st, sc, labels_key="cell_type", normalize=True)
    test = np.arange(5)
    _, measured = fold_arrays(data, test)
    factors = data.st_size_factors(np.arange(5, len(data.shared_st)))
    assert np.allclose(measured, np.log1p(data.st_counts[:, test] * factors[:, None]), atol=1e-5)


def test_spaim_beats_the_knn_baseline_on_real_data(osmfish):
    """End to end on osmFISH: median held-out PCC of SpaIM above the kNN baseline, same folds."""
    st, sc = osmfish
    data = prepare_pair(st, sc)
    spaim = run_folds(data, spaim_predictor(seed=0, max_epochs=100, progress=False), folds=5, seed=0, progress=False)
    knn = run_folds(data, knn_predictor(sc.X, sc.var_names), folds=5, seed=0, progress=False)
    assert sorted(spaim.gene) == sorted(knn.gene) == sorted(data.shared_st)
    assert spaim.pcc.median() > knn.pcc.median()
