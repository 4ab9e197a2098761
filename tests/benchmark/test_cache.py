import numpy as np

from spaim.benchmark.cache import FoldResult, MethodCache


def test_a_fold_keeps_prediction_intervals_when_the_method_made_them(tmp_path):
    cache = MethodCache(tmp_path, "pair", "tissue", "key")
    prediction = np.arange(6, dtype=np.float32).reshape(3, 2)
    cache.save(0, FoldResult(prediction, 1.5, 200.0, prediction - 1, prediction + 2))
    cache.save(1, FoldResult(prediction, 1.5, 200.0))

    with_bounds, without = cache.load(0), cache.load(1)
    np.testing.assert_array_equal(with_bounds.prediction, prediction)
    np.testing.assert_array_equal(with_bounds.lower, prediction - 1)
    np.testing.assert_array_equal(with_bounds.upper, prediction + 2)
    assert (with_bounds.wall_s, with_bounds.peak_mb) == (1.5, 200.0)
    assert without.lower is None and without.upper is None
    assert cache.done([0, 1, 2]) == [0, 1]
