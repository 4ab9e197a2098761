"""Conformal intervals: finite-sample quantile, coverage on fresh genes, adaptive width."""

from __future__ import annotations

import numpy as np
import pytest

from spaim.confidence.intervals import ConformalIntervals, conformal_window
from spaim.errors import SpaIMInputError


def test_conformal_window_is_the_shortest_holding_the_finite_sample_count():
    errors = np.array([-9.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 5.0])  # 10 errors: ceil(11 * 0.8) = 9 inside
    assert conformal_window(errors, 0.8) == (0.0, 5.0)  # narrower than (-9, 0.7)
    assert conformal_window(np.array([0.0, 1.0, 1.1, 1.2]), 0.5) == (1.0, 1.2)  # ceil(5 * 0.5) = 3: the tight three
    assert conformal_window(np.arange(5.0), 0.9) == (-np.inf, np.inf)  # too few errors for 90%


def _heteroscedastic(rng, n_cells=1000, n_genes=60):
    """Noise four times larger in the second half of the cells."""
    noisy = np.arange(n_cells) >= n_cells // 2
    predicted = rng.gamma(2.0, 0.5, size=(n_cells, n_genes))
    sd = np.where(noisy, 0.8, 0.2)[:, None]
    measured = np.clip(predicted + rng.normal(0, 1, size=predicted.shape) * sd, 0, None)  # log1p values are >= 0
    return measured, predicted, noisy.astype(int)


@pytest.mark.parametrize("coverage", [0.8, 0.9, 0.95])
def test_coverage_on_genes_not_used_for_calibration(coverage):
    rng = np.random.default_rng(0)
    measured, predicted, groups = _heteroscedastic(rng)
    intervals = ConformalIntervals.fit(measured[:, :30], predicted[:, :30], groups, coverage)
    lower, upper = intervals.bounds(predicted[:, 30:])
    covered = (measured[:, 30:] >= lower) & (measured[:, 30:] <= upper)
    assert abs(covered.mean() - coverage) < 0.03
    for g in (0, 1):
        assert abs(covered[groups == g].mean() - coverage) < 0.04  # group-wise, not just marginal


def test_width_follows_the_noise_of_each_cell_group():
    rng = np.random.default_rng(1)
    measured, predicted, groups = _heteroscedastic(rng)
    lower, upper = ConformalIntervals.fit(measured, predicted, groups, 0.9).bounds(predicted)
    width = upper - lower
    assert np.median(width[groups == 1]) > 2.5 * np.median(width[groups == 0])


def test_lower_bound_never_negative_and_float32():
    rng = np.random.default_rng(2)
    measured, predicted, groups = _heteroscedastic(rng)
    lower, upper = ConformalIntervals.fit(measured, predicted, groups, 0.9).bounds(predicted)
    assert lower.dtype == np.float32 and upper.dtype == np.float32
    assert lower.min() >= 0 and np.all(upper >= lower)


def test_rejects_bad_coverage_and_shapes():
    rng = np.random.default_rng(3)
    measured, predicted, groups = _heteroscedastic(rng)
    with pytest.raises(SpaIMInputError, match="coverage"):
        ConformalIntervals.fit(measured, predicted, groups, 1.5)
    with pytest.raises(SpaIMInputError, match="same cells"):
        ConformalIntervals.fit(measured[:, :5], predicted, groups, 0.9)


def test_gene_groups_only_where_each_holds_enough_calibration_genes():
    rng = np.random.default_rng(4)
    measured, predicted, groups = _heteroscedastic(rng, n_cells=200, n_genes=240)
    few = ConformalIntervals.fit(measured[:, :60], predicted[:, :60], groups, 0.9)
    assert few.gene_edges.size == 0  # 60 genes: one group (each needs 50 by default)
    many = ConformalIntervals.fit(measured, predicted, groups, 0.9)
    assert many.gene_edges.size == 3  # 240 genes: four groups of 60
    assert ConformalIntervals.fit(measured, predicted, groups, 0.9, min_genes=100).gene_edges.size == 1
