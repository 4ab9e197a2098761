"""Li et al. 2022's scoring, checked against values worked out by hand from their definitions."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import pearsonr

from spaim.benchmark.inputs import build_inputs
from spaim.benchmark.methods import method_class
from spaim.benchmark.methods.spage import SpaGEMethod, spage_impute
from spaim.benchmark.published import MISSING, pcc as pcc_of
from spaim.benchmark.published import score_published
from spaim.errors import SpaIMInputError

# One gene over four cells: truth in counts, prediction on any scale.
X = np.array([0.0, 0.0, 1.0, 3.0])
Y = np.array([1.0, 2.0, 3.0, 4.0])


def _score(x=X, y=Y):
    return score_published(np.asarray(x)[:, None], np.asarray(y)[:, None], ["g"]).iloc[0]


def test_pcc_is_pearson_of_raw_counts_against_the_prediction_as_returned():
    # x - mean = (-1, -1, 0, 2), y - mean = (-1.5, -0.5, 0.5, 1.5): r = 5 / sqrt(6 * 5)
    assert _score()["pcc"] == pytest.approx(5 / math.sqrt(30))
    # No log1p anywhere: log-transforming the truth gives a different value.
    assert _score(np.log1p(X))["pcc"] != pytest.approx(5 / math.sqrt(30), abs=1e-3)


def test_ssim_is_their_cal_ssim_of_the_max_scaled_vectors():
    # x / 3 = (0, 0, 1/3, 1), y / 4 = (1/4, 1/2, 3/4, 1); L = 1 (the smaller of the two maxima)
    mx, my = 1 / 3, 5 / 8
    vx = ((1 / 3) ** 2 * 2 + 0 + (2 / 3) ** 2) / 4  # 1/6
    vy = (3 / 8) ** 2 / 2 + (1 / 8) ** 2 / 2  # 5/64
    cov = ((1 / 3) * (3 / 8) + (1 / 3) * (1 / 8) + (2 / 3) * (3 / 8)) / 4
    c1, c2 = 0.01**2, 0.03**2
    c3 = c2 / 2
    sx, sy = math.sqrt(vx), math.sqrt(vy)
    expected = ((2 * mx * my + c1) / (mx**2 + my**2 + c1)) * ((2 * sx * sy + c2) / (vx + vy + c2)) * ((cov + c3) / (sx * sy + c3))
    assert _score()["ssim"] == pytest.approx(expected)


def test_rmse_is_of_population_z_scores():
    zx = (X - 1) / math.sqrt(6 / 4)
    zy = (Y - 2.5) / math.sqrt(5 / 4)
    assert _score()["rmse"] == pytest.approx(math.sqrt(((zx - zy) ** 2).mean()))


def test_js_is_jensen_shannon_of_the_sum_scaled_vectors_in_nats():
    p, q = X / 4, Y / 10
    m = (p + q) / 2
    assert _score()["js"] == pytest.approx(0.5 * _kl(p, m) + 0.5 * _kl(q, m))


def _kl(a, b):
    return sum(ai * math.log(ai / bi) for ai, bi in zip(a, b) if ai > 0)


def test_a_per_gene_factor_changes_nothing_but_an_offset_changes_ssim_and_js():
    base = _score()
    scaled = _score(y=7 * Y)
    for metric in ("pcc", "ssim", "rmse", "js"):
        assert scaled[metric] == pytest.approx(base[metric])
    shifted = _score(y=Y + 10)
    assert shifted["pcc"] == pytest.approx(base["pcc"]) and shifted["rmse"] == pytest.approx(base["rmse"])
    assert shifted["ssim"] != pytest.approx(base["ssim"], abs=1e-3)
    assert shifted["js"] != pytest.approx(base["js"], abs=1e-3)


def test_a_gene_the_method_did_not_return_gets_their_missing_values():
    table = score_published(np.c_[X, X], np.c_[Y, np.full(4, np.nan)], ["a", "b"])
    assert list(table["gene"]) == ["a", "b"]
    assert table.iloc[1][list(MISSING)].to_dict() == MISSING == {"pcc": 0.0, "ssim": 0.0, "rmse": 1.5, "js": 1.0}


def test_isolated_nan_is_filled_with_a_tiny_value_as_their_fillna():
    y = Y.copy()
    y[0] = np.nan
    assert _score(y=y)["pcc"] == pytest.approx(_score(y=np.r_[1e-20, Y[1:]])["pcc"])


def test_constant_prediction_has_nan_pcc_like_scipy():
    assert np.isnan(_score(y=np.full(4, 2.0))["pcc"])


def test_sparse_truth_and_several_genes_match_scipy_pearson():
    rng = np.random.default_rng(0)
    truth = rng.poisson(2.0, size=(50, 3)).astype(float)
    pred = truth + rng.normal(size=truth.shape)
    table = score_published(sp.csr_matrix(truth), pred, ["a", "b", "c"])
    np.testing.assert_allclose(table["pcc"], [pearsonr(truth[:, j], pred[:, j])[0] for j in range(3)])


def test_mismatched_shapes_fail_with_one_line():
    with pytest.raises(SpaIMInputError, match="do not match"):
        score_published(np.zeros((4, 2)), np.zeros((4, 3)), ["a", "b"])


# Their protocol in the adapters (``protocol="li2022"``): inputs and outputs as their pipeline has them.


@pytest.fixture(scope="module")
def inputs_and_fold(pair):
    st, sc = pair
    inputs = build_inputs(st[:200].copy(), sc[:250].copy())
    return inputs, inputs.folds(5, seed=0)[0]


def test_spage_li2022_runs_on_raw_counts_with_half_the_training_genes_as_pvs(inputs_and_fold):
    inputs, fold = inputs_and_fold
    predicted = SpaGEMethod(seed=0, protocol="li2022").predict(inputs, fold)
    train = [inputs.genes[i] for i in fold.train]
    sc, st = np.asarray(inputs.sc.X, dtype=float), np.asarray(inputs.st.X, dtype=float)
    index = inputs.sc.var_names.get_indexer
    expected = spage_impute(st[:, fold.train], sc[:, index(train)], sc[:, index(inputs.test_genes(fold))], n_pv=len(train) // 2)
    np.testing.assert_allclose(predicted, expected, rtol=1e-5)
    assert not np.allclose(predicted, SpaGEMethod(seed=0).predict(inputs, fold))


def test_tangram_li2022_carries_the_st_library_size_through_its_density_prior(inputs_and_fold):
    pytest.importorskip("tangram")
    inputs, fold = inputs_and_fold
    st_total = np.asarray(inputs.st.X).sum(axis=1)
    totals = {}
    for protocol in (None, "li2022"):
        options = {"epochs": 50} | ({"protocol": protocol} if protocol else {})
        predicted = method_class("tangram")(seed=0, **options).predict(inputs, fold)
        assert predicted.shape == (inputs.st.n_obs, len(fold.test))
        totals[protocol] = pcc_of(np.nansum(predicted, axis=1), st_total)  # NaN: genes Tangram dropped
    # Raw ST counts make the rna_count_based prior follow the library size; log-normalised ST does not.
    assert totals["li2022"] > 0.5
    assert totals["li2022"] > totals[None] + 0.2


def test_novosparc_li2022_predicts_every_held_out_gene_from_raw_counts(inputs_and_fold):
    pytest.importorskip("novosparc")
    inputs, fold = inputs_and_fold
    method = method_class("novosparc")(seed=0, protocol="li2022")
    method.setup(inputs)
    predicted = method.predict(inputs, fold)
    assert predicted.shape == (inputs.st.n_obs, len(fold.test)) and np.isfinite(predicted).all()
    table = score_published(np.asarray(inputs.st.X[:, fold.test]), predicted, inputs.test_genes(fold))
    assert table["pcc"].median() > 0
