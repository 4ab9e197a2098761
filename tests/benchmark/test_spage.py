import numpy as np

from spaim.benchmark.inputs import build_inputs
from spaim.benchmark.methods.spage import SpaGEMethod, _weights, principal_vectors
from spaim.metrics import score_genes


def test_principal_vectors_of_a_dataset_with_itself_are_identical_directions():
    x = np.random.default_rng(0).normal(size=(200, 12))
    pv, similarity = principal_vectors(x, x, n_pv=5)
    np.testing.assert_allclose(similarity, 1.0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(pv, axis=1), 1.0)


def test_principal_vectors_similarity_is_sorted_and_below_one_for_different_data():
    rng = np.random.default_rng(1)
    _, similarity = principal_vectors(rng.normal(size=(200, 12)), rng.normal(size=(150, 12)), n_pv=6)
    assert np.all(np.diff(similarity) <= 1e-12)
    assert similarity[-1] < 0.99


def test_weights_follow_spage_and_sum_to_one():
    w = _weights(np.array([[0.1, 0.3, 1.5], [2.0, 3.0, 4.0]]))
    # Neighbours at distance >= 1 are dropped; the rest get (1 - d/sum d) / (n - 1).
    np.testing.assert_allclose(w[0], [0.75, 0.25, 0.0])
    np.testing.assert_allclose(w[1], 0.0)


def test_spage_predicts_held_out_genes_better_than_shuffled_cells(pair):
    inputs = build_inputs(*pair)
    fold = inputs.folds(5, seed=0)[0]
    predicted = SpaGEMethod(seed=0).predict(inputs, fold)
    measured = inputs.measured(fold)
    assert predicted.shape == measured.shape and np.isfinite(predicted).all()
    pcc = score_genes(measured, predicted, inputs.test_genes(fold))["pcc"].median()
    shuffled = score_genes(measured, predicted[np.random.default_rng(0).permutation(len(predicted))], inputs.test_genes(fold))["pcc"].median()
    assert pcc > 0.1
    assert pcc > shuffled + 0.1
