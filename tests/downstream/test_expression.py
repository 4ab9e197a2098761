import anndata as ad
import numpy as np
import pandas as pd
import pytest

from spaim.downstream.expression import combine, log_expression
from spaim.errors import SpaIMInputError


def test_log_expression_is_log1p_of_counts_and_keeps_input(seqfish):
    st = seqfish[0]
    before = st.X.copy()
    out = log_expression(st)
    np.testing.assert_allclose(out.X, np.log1p(before), rtol=1e-6)
    np.testing.assert_array_equal(st.X, before)
    assert out.var["measured"].all()
    assert out.obsm["spatial"].shape == (st.n_obs, 2)
    assert "cell_type" in out.obs


def test_combine_adds_new_genes_and_prefers_imputed_values(seqfish_log):
    measured = seqfish_log[:, :5]
    genes = [measured.var_names[0], "NEWGENE"]
    values = np.full((measured.n_obs, 2), 7.0, dtype=np.float32)
    imputed = ad.AnnData(values, obs=pd.DataFrame(index=measured.obs_names[::-1]), var=pd.DataFrame(index=genes))
    out = combine(measured, imputed)
    assert list(out.var_names) == [*measured.var_names[1:], *genes]
    assert out.var["imputed"].tolist() == [False] * 4 + [True, True]
    assert out.var["measured"].tolist() == [True] * 5 + [False]
    np.testing.assert_array_equal(out[:, genes].X, 7.0)
    np.testing.assert_array_equal(out[:, measured.var_names[1:]].X, measured[:, 1:].X)
    assert "spatial" in out.obsm and "cell_type" in out.obs


def test_combine_rejects_other_cells(seqfish_log):
    other = ad.AnnData(np.zeros((3, 1), np.float32), var=pd.DataFrame(index=["g"]))
    with pytest.raises(SpaIMInputError, match="same cells"):
        combine(seqfish_log, other)


def test_combine_rejects_non_finite_imputations(seqfish_log):
    measured = seqfish_log[:, :3]
    values = np.ones((measured.n_obs, 2), dtype=np.float32)
    values[5, 1] = np.nan
    imputed = ad.AnnData(values, obs=pd.DataFrame(index=measured.obs_names), var=pd.DataFrame(index=["A1", "B2"]))
    with pytest.raises(SpaIMInputError, match=r"NaN or infinite values in 1 gene\(s\).*B2"):
        combine(measured, imputed)
