"""Calibration on planted genes: confidence orders genes by known difficulty; SpaIM carries it through impute."""

from __future__ import annotations

from types import SimpleNamespace

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.stats import spearmanr

from spaim.confidence import Calibration, ConfidenceRegressor, ConformalIntervals, cross_predict
from spaim.confidence.calibrate import depth_groups
from spaim.confidence.features import FEATURES
from spaim.errors import SpaIMInputError
from spaim.model import SpaIM
from spaim.pairing import prepare_pair
from tests.confidence.conftest import type_mean_predictor, type_means


@pytest.fixture(scope="module")
def fitted(planted):
    st, sc, genes, strength = planted
    data = prepare_pair(st, sc, genes=genes, labels_key="type", normalize=True)
    factory = type_mean_predictor(st.obs["type"].to_numpy())
    held, table = cross_predict(data, folds=4, ensemble=2, progress=False, predictor=factory)
    return data, held, table, Calibration.fit(data, held, coverage=0.9), st.obs["type"].to_numpy(), genes, strength


def _skewed_genes(rng, n):
    """Genes whose PCC rises with two log-normal features (as expression levels are); the rest is noise."""
    z = rng.normal(size=(n, 2))
    features = pd.DataFrame(np.exp(2 * rng.normal(size=(n, len(FEATURES)))), columns=list(FEATURES))
    features["sc_mean"], features["sc_spread"] = np.exp(2 * z[:, 0]), np.exp(2 * z[:, 1])
    return features, np.tanh(0.3 * z.sum(axis=1) + 0.05 * rng.normal(size=n))


def test_confidence_regression_orders_new_genes_despite_skewed_features_and_an_extreme_gene():
    rng = np.random.default_rng(0)
    features, pcc = _skewed_genes(rng, 200)
    pcc[0] = 0.99
    new_features, new_pcc = _skewed_genes(rng, 100)
    confidence = ConfidenceRegressor().fit(features, pcc).predict(new_features)
    assert spearmanr(confidence, new_pcc)[0] > 0.9  # a ridge on the raw features reached 0.51 here
    assert pcc.min() <= confidence.min() and confidence.max() <= pcc.max()  # reads as a PCC the panel has seen


def test_forward_selection_keeps_the_informative_features_and_leaves_out_noise():
    rng = np.random.default_rng(1)
    features, pcc = _skewed_genes(rng, 200)  # only sc_mean and sc_spread carry signal
    new_features, new_pcc = _skewed_genes(rng, 100)
    selected = ConfidenceRegressor().fit(features, pcc)
    everything = ConfidenceRegressor(forward=False).fit(features, pcc)
    assert set(selected.columns_) == {"sc_mean", "sc_spread"}
    assert len(everything.columns_) == len(FEATURES)
    assert spearmanr(selected.predict(new_features), new_pcc)[0] >= spearmanr(everything.predict(new_features), new_pcc)[0]


def test_depth_groups_cover_shallow_and_deep_cells_alike_with_narrower_intervals():
    rng = np.random.default_rng(4)
    depth = rng.lognormal(np.log(200), 0.8, size=2000)
    share = rng.dirichlet(np.ones(120))  # the same expected profile in every cell: only depth differs
    counts = sp.csr_matrix(rng.poisson(depth[:, None] * share[None, :]))
    groups = depth_groups(counts)
    totals = np.asarray(counts.sum(axis=1)).ravel()
    assert np.array_equal(groups, depth_groups(counts.toarray()))  # sparse or dense alike
    assert np.all(np.abs(np.bincount(groups) - 500) < 25) and np.all(np.diff([totals[groups == g].mean() for g in range(4)]) > 0)
    factor = np.median(totals) / totals
    measured = np.log1p(counts.toarray() * factor[:, None])
    predicted = np.broadcast_to(np.log1p(np.median(totals) * share), measured.shape)

    def calibrated(cell_groups):  # calibrated on half the genes, scored on the other half
        lower, upper = ConformalIntervals.fit(measured[:, ::2], predicted[:, ::2], cell_groups, 0.9).bounds(predicted[:, 1::2])
        covered = (measured[:, 1::2] >= lower) & (measured[:, 1::2] <= upper)
        by_depth = [covered[groups == g].mean() for g in range(4)]
        return max(by_depth) - min(by_depth), np.median(upper - lower)

    (spread, width), (spread_one, width_one) = calibrated(groups), calibrated(np.zeros_like(groups))
    assert spread < 0.06 < 0.12 < spread_one  # one window for all: shallow cells under-covered, deep ones over
    assert width < 0.9 * width_one  # and no wider for it: one count weighs more in a shallow cell


def test_held_out_predictions_follow_the_planted_strength(fitted):
    _, held, table, *_ , strength = fitted
    assert spearmanr(held.pcc, strength[: len(held.pcc)])[0] > 0.7
    assert list(table.columns[:3]) == ["gene", "fold", "pcc"]


def test_nested_confidence_ranks_held_out_accuracy(fitted):
    data, held, _, calibration, *_ = fitted
    panel = calibration.panel
    assert list(panel.index) == data.shared_st and panel["fold"].nunique() == 4
    assert spearmanr(panel["confidence"], panel["pcc"])[0] > 0.7


def test_planted_easy_unmeasured_genes_get_more_confidence_than_hard_ones(fitted):
    data, _, _, calibration, st_types, genes, _ = fitted
    # the stand-in predicts the unmeasured genes; the calibration scores them without their measurement
    adata = ad.AnnData(type_means(data.reference, genes, st_types), var=pd.DataFrame(index=genes))
    companion = SimpleNamespace(predict=lambda g: type_means(data.reference, g, st_types) + np.float32(0.05))
    calibration.companions = [companion]  # the second seed, as calibrate() trains it
    calibration.annotate(data, adata)
    confidence = adata.var["confidence"].to_numpy()
    assert confidence[: len(genes) // 2].min() > confidence[len(genes) // 2 :].max()
    assert np.all(adata.layers["lower"] <= adata.layers["upper"]) and adata.layers["lower"].min() >= 0


def test_spaim_impute_carries_confidence_features_and_intervals(planted):
    st, sc, genes, _ = planted
    model = SpaIM(st[:, :20].copy(), sc, genes=genes, labels_key="type", normalize=True, seed=0).train(max_epochs=2, progress=False)
    with pytest.raises(SpaIMInputError, match="coverage"):
        model.calibrate(coverage=1.2)
    assert model.calibration is None and "confidence" not in model.impute(genes).var
    out = model.calibrate(folds=2, ensemble=2, progress=False).impute([*genes, model.data.shared_sc[0]])
    for column in ("confidence", "sc_spread", "profile_similarity", "neighbour_pcc", "seed_agreement"):
        assert out.var[column].notna().all()
    # a measured gene keeps the confidence it got while held out
    assert out.var["confidence"].iloc[-1] == pytest.approx(model.calibration.panel["confidence"].iloc[0])
    # windows of errors may be asymmetric, but never inverted or below zero
    assert np.all(out.layers["lower"] <= out.layers["upper"]) and out.layers["lower"].min() >= 0
    assert out.uns["spaim"]["interval_coverage"] == 0.9
    bare = model.calibrate(folds=2, ensemble=1, coverage=None, progress=False).impute(genes)
    assert "lower" not in bare.layers and bare.var["seed_agreement"].isna().all()


def test_calibrated_impute_streams_what_it_returns_in_memory_and_filters_by_confidence(planted, tmp_path):
    st, sc, genes, _ = planted
    model = SpaIM(st[:, :20].copy(), sc, genes=genes, labels_key="type", normalize=True, seed=0).train(max_epochs=2, progress=False)
    with pytest.raises(SpaIMInputError, match="calibrate"):
        model.impute(genes, min_confidence=0.1)
    model.calibrate(folds=2, ensemble=2, progress=False)
    asked = [*genes, model.data.shared_sc[0]]
    in_memory = model.impute(asked, chunk_size=3)  # the same chunks generate the same floats
    streamed = ad.read_h5ad(model.impute(asked, tmp_path / "all.h5ad", chunk_size=3))  # described four chunks apart
    np.testing.assert_array_equal(streamed.X, in_memory.X)
    for layer in ("lower", "upper"):
        np.testing.assert_array_equal(streamed.layers[layer], in_memory.layers[layer])
    pd.testing.assert_frame_equal(streamed.var, in_memory.var)  # float-level: features of 3 genes vs 11 at a time
    assert streamed.uns["spaim"]["interval_coverage"] == 0.9
    # genes below the threshold are left out, in either path, whichever chunk they fall in
    threshold = float(np.mean(np.sort(in_memory.var["confidence"])[5:7]))  # halfway between two genes' confidence
    expected = in_memory.var_names[in_memory.var["confidence"] >= threshold]
    assert 0 < len(expected) < len(asked)
    kept = ad.read_h5ad(model.impute(asked, tmp_path / "kept.h5ad", chunk_size=3, min_confidence=threshold))
    assert list(kept.var_names) == list(expected) == list(model.impute(asked, chunk_size=3, min_confidence=threshold).var_names)
    np.testing.assert_array_equal(kept.X, in_memory[:, expected].X)
    np.testing.assert_array_equal(kept.layers["upper"], in_memory[:, expected].layers["upper"])
    none = ad.read_h5ad(model.impute(asked, tmp_path / "none.h5ad", chunk_size=3, min_confidence=2.0))
    assert none.shape == (st.n_obs, 0)
