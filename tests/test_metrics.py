import numpy as np
import pandas as pd
import pytest

from spaim import metrics

X, Y = [0, 1, 2, 3], [0, 2, 2, 4]


def test_reference_values_from_the_spec():
    assert metrics.pcc(X, Y) == pytest.approx(0.94868, abs=1e-5)
    assert metrics.ssim(X, Y) == pytest.approx(0.94755, abs=1e-5)
    assert metrics.rmse(X, Y) == pytest.approx(0.32036, abs=1e-5)
    assert metrics.js(X, Y) == pytest.approx(0.0071813, abs=1e-7)


def test_rmse_equals_sqrt_two_one_minus_pcc():
    rng = np.random.default_rng(0)
    x, y = rng.random(50), rng.random(50)
    assert metrics.rmse(x, y) == pytest.approx(np.sqrt(2 * (1 - metrics.pcc(x, y))))


def test_constant_vector_policy():
    assert metrics.pcc([1, 1, 1], [1, 2, 3]) == 0.0
    assert metrics.rmse([1, 2, 3], [5, 5, 5]) == pytest.approx(np.sqrt(2))
    assert np.isfinite(metrics.ssim([0, 0, 0], [1, 2, 3]))


def test_zero_vectors_in_js():
    assert metrics.js([0, 0, 0], [1, 2, 3]) == pytest.approx(np.log(2))
    assert metrics.js([0, 0, 0], [0, 0, 0]) == 0.0


def test_negative_predictions_are_clipped_for_ssim_and_js():
    assert metrics.ssim(X, [0, 2, 2, 4]) == metrics.ssim(X, [-5, 2, 2, 4])
    assert metrics.js(X, [0, 2, 2, 4]) == metrics.js(X, [-5, 2, 2, 4])


def test_nan_or_missing_prediction_gets_worst_values():
    assert metrics.score_gene(X, [0, np.nan, 1, 2]) == metrics.WORST
    table = metrics.score_genes(np.ones((4, 2)), None, ["a", "b"])
    assert list(table.gene) == ["a", "b"]
    assert np.allclose(table.rmse, 2.0) and np.allclose(table.js, np.log(2))


def test_identical_vectors_score_perfectly():
    s = metrics.score_gene(X, X)
    assert s["pcc"] == pytest.approx(1) and s["ssim"] == pytest.approx(1)
    assert s["rmse"] == pytest.approx(0) and s["js"] == pytest.approx(0)


def test_accuracy_score_ranks_with_ties():
    means = {
        "good": {"pcc": 0.9, "ssim": 0.8, "rmse": 0.5, "js": 0.1},
        "bad": {"pcc": 0.1, "ssim": 0.2, "rmse": 1.5, "js": 0.5},
        "tied": {"pcc": 0.1, "ssim": 0.2, "rmse": 1.5, "js": 0.5},
    }
    acc = metrics.accuracy_score(means)
    assert acc["good"] == pytest.approx(1.0)
    assert acc["bad"] == acc["tied"] == pytest.approx(1.5 / 3)


def test_summarize_by_group():
    table = pd.DataFrame({"method": ["a", "a", "b"], "pcc": [0.1, 0.3, 0.5], "ssim": 0, "rmse": 1, "js": 0})
    out = metrics.summarize(table, by="method").set_index("method")
    assert out.loc["a", "median_pcc"] == pytest.approx(0.2)
    assert out.loc["b", "mean_pcc"] == pytest.approx(0.5)
