import numpy as np
import pytest

from spaim.benchmark.scoring import cell_pcc, moran_spearman, morans_i, on_scale, truth
from spaim.cell_basis import spatial_neighbours
from spaim.metrics import pcc


@pytest.fixture(scope="module")
def planted():
    """Counts = depth x pattern: held-out genes carry the cells' depth, which the normalised scoring removes."""
    rng = np.random.default_rng(0)
    n_cells, n_genes = 400, 20
    depth = rng.lognormal(0, 0.8, n_cells)
    pattern = rng.gamma(2.0, 5.0, (n_cells, n_genes))
    counts = rng.poisson(depth[:, None] * pattern).astype(np.float32)
    return counts, np.arange(15), np.arange(15, 20), depth


def test_a_library_size_predictor_scores_on_raw_but_not_on_normalized(planted):
    counts, train, test, _ = planted
    libsize = np.repeat(np.log1p(counts[:, train].sum(axis=1))[:, None], len(test), axis=1)
    raw = [pcc(t, p) for t, p in zip(truth(counts, train, test, "raw").T, on_scale(libsize, counts, train, "raw", "counts").T)]
    norm_pred = on_scale(libsize, counts, train, "normalized", "counts")
    normalized = [pcc(t, p) for t, p in zip(truth(counts, train, test, "normalized").T, norm_pred.T)]
    assert np.median(raw) > 0.5
    assert abs(np.median(normalized)) < 0.05  # the depth is divided out: nothing left to correlate with


def test_normalized_truth_uses_training_gene_size_factors(planted):
    counts, train, test, _ = planted
    totals = counts[:, train].sum(axis=1)
    expected = np.log1p(counts[:, test] * (np.median(totals) / totals)[:, None])
    np.testing.assert_allclose(truth(counts, train, test, "normalized"), expected, rtol=1e-5)


def test_count_scale_predictions_are_normalised_and_log_scale_ones_kept(planted):
    counts, train, test, _ = planted
    exact = np.log1p(counts[:, test])  # a perfect count-scale prediction
    np.testing.assert_allclose(on_scale(exact, counts, train, "normalized", "counts"), truth(counts, train, test, "normalized"), rtol=1e-4)
    assert on_scale(exact, counts, train, "normalized", "log_normalized") is exact
    assert on_scale(exact, counts, train, "raw", "counts") is exact


def test_cell_pcc_is_one_for_a_perfect_prediction_and_ignores_gene_levels():
    rng = np.random.default_rng(1)
    x = rng.random((50, 10))
    assert cell_pcc(x, x * 3 + np.arange(10)) == pytest.approx(1.0)  # per-gene affine changes do not matter
    assert abs(cell_pcc(x, rng.random((50, 10)))) < 0.3


def test_morans_i_separates_smooth_from_shuffled_patterns():
    grid = np.stack(np.meshgrid(np.arange(20), np.arange(20)), -1).reshape(-1, 2).astype(float)
    smooth = grid[:, :1] + grid[:, 1:]  # a gradient
    shuffled = np.random.default_rng(2).permutation(smooth)
    weights = spatial_neighbours(grid, 4).tolil()
    weights.setdiag(0)
    i = morans_i(np.hstack([smooth, shuffled]), weights.tocsr())
    assert i[0] > 0.8 and abs(i[1]) < 0.1
    panel = np.hstack([smooth, smooth**2, shuffled, np.sqrt(smooth)])
    assert moran_spearman(panel, panel, grid) == pytest.approx(1.0)
    assert np.isnan(moran_spearman(panel, panel, None))


def test_a_constant_or_non_finite_prediction_has_one_domain():
    from spaim.benchmark.scoring import domains

    x = np.zeros((40, 6))
    x[:, 0] = np.nan
    assert set(domains(x)) == {"0"}
