import numpy as np

from spaim.benchmark.inputs import build_inputs
from spaim.crossval import make_folds


def test_inputs_copy_user_data_and_use_the_core_folds(pair):
    st, sc = pair
    names = list(st.var_names)
    inputs = build_inputs(st, sc)
    inputs.st.var_names = [g.lower() for g in inputs.st.var_names]  # as some peers do in place
    assert list(st.var_names) == names
    folds = build_inputs(st, sc).folds(4, seed=3)
    for fold, test in zip(folds, make_folds(len(inputs.genes), 4, 3)):
        np.testing.assert_array_equal(fold.test, test)
        assert len(np.intersect1d(fold.train, fold.test)) == 0
        assert len(fold.train) + len(fold.test) == len(inputs.genes)


def test_measured_is_log1p_of_the_held_out_counts(pair):
    st, sc = pair
    inputs = build_inputs(st, sc)
    fold = inputs.folds(5, seed=0)[2]
    gene = inputs.st_genes[fold.test[0]]
    np.testing.assert_allclose(inputs.measured(fold, "raw")[:, 0], np.log1p(np.asarray(st[:, gene].X).ravel()), rtol=1e-6)
