"""Multiple-imputation tests: wide intervals cost significance; confidence filtering."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from spaim.downstream.uncertainty import confident, multiple_imputation_test
from spaim.errors import SpaIMInputError


def _imputed(seed=0, n=200):
    """Gene a: real shift, tight intervals; b: same shift, very wide intervals; c: no shift."""
    rng = np.random.default_rng(seed)
    group = np.repeat(["x", "y"], n // 2)
    shift = (group == "x") * 0.5
    values = np.column_stack([1 + shift, 1 + shift, np.full(n, 1.0)]) + rng.normal(0, 0.3, size=(n, 3))
    half = np.array([0.2, 5.0, 0.2])
    out = ad.AnnData(values.astype(np.float32), obs=pd.DataFrame({"type": group}, index=[f"c{i}" for i in range(n)]),
                     var=pd.DataFrame({"confidence": [0.8, 0.1, 0.7]}, index=["a", "b", "c"]))
    out.layers["lower"] = np.clip(values - half, 0, None).astype(np.float32)
    out.layers["upper"] = (values + half).astype(np.float32)
    out.uns["spaim"] = {"interval_coverage": 0.9}
    return out


def test_wide_intervals_lose_significance_that_tight_ones_keep():
    table = multiple_imputation_test(_imputed(), "type", "x", n_imputations=30).set_index("gene")
    assert table.loc["a", "pval_adj"] < 1e-6 and table.loc["a", "difference"] == pytest.approx(0.5, abs=0.15)
    assert table.loc["b", "pval"] > 0.01  # same shift, but the imputation cannot vouch for it
    assert table.loc["c", "pval"] > 0.01
    assert table.loc["b", "se"] > 3 * table.loc["a", "se"]


def test_min_confidence_filters_genes_and_input_is_not_modified():
    imputed = _imputed()
    before = imputed.X.copy()
    table = multiple_imputation_test(imputed, "type", "x", min_confidence=0.5)
    assert set(table["gene"]) == {"a", "c"}
    assert list(confident(imputed, 0.75).var_names) == ["a"]
    np.testing.assert_array_equal(imputed.X, before)


def test_same_seed_same_result_and_clear_errors():
    imputed = _imputed()
    pd.testing.assert_frame_equal(multiple_imputation_test(imputed, "type", "x", seed=3), multiple_imputation_test(imputed, "type", "x", seed=3))
    with pytest.raises(SpaIMInputError, match="no obs column"):
        multiple_imputation_test(imputed, "cluster", "x")
    with pytest.raises(SpaIMInputError, match="at least 2 cells"):
        multiple_imputation_test(imputed, "type", "z")
    bare = imputed.copy()
    del bare.layers["upper"]
    with pytest.raises(SpaIMInputError, match="interval layers"):
        multiple_imputation_test(bare, "type", "x")
    del bare.var["confidence"]
    with pytest.raises(SpaIMInputError, match="calibrate"):
        confident(bare, 0.3)
