"""Every bad input named in the product's contract raises one specific, actionable error."""

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp

from spaim import SpaIM, cross_validate
from spaim.errors import SpaIMInputError
from spaim.validation import expression_matrix


def _with_value(adata, value):
    out = adata.copy()
    out.X[0, 0] = value
    return out


@pytest.mark.parametrize(
    ("value", "message"), [(np.nan, "NaN or infinite"), (np.inf, "NaN or infinite"), (-1.0, "negative values"), (0.5, "non-integer")]
)
def test_bad_values_are_refused(small_pair, value, message):
    st, sc = small_pair
    with pytest.raises(SpaIMInputError, match=message):
        SpaIM(_with_value(st, value), sc)
    with pytest.raises(SpaIMInputError, match=message):
        SpaIM(st, _with_value(sc, value))


def test_non_integer_allowed_with_flag(small_pair):
    st, sc = small_pair
    sc = sc.copy()
    sc.X = sc.X * 0.5
    assert SpaIM(st, sc, allow_non_integer=True, n_clusters=5).data.reference.n_clusters == 5


def test_sparse_and_dense_give_the_same_matrix(small_pair):
    st, _ = small_pair
    sparse = st.copy()
    sparse.X = sp.csr_matrix(st.X)
    assert np.array_equal(expression_matrix(sparse, "ST").toarray(), expression_matrix(st, "ST"))


def test_duplicate_gene_and_cell_names(small_pair):
    st, sc = small_pair
    dup_genes = st.copy()
    dup_genes.var_names = [st.var_names[0]] * 2 + list(st.var_names[2:])
    with pytest.raises(SpaIMInputError, match="duplicate gene names.*var_names_make_unique"):
        SpaIM(dup_genes, sc)
    dup_cells = sc.copy()
    dup_cells.obs_names = [sc.obs_names[0]] * 2 + list(sc.obs_names[2:])
    with pytest.raises(SpaIMInputError, match="duplicate cell names"):
        SpaIM(st, dup_cells)


def test_empty_matrix(small_pair):
    st, sc = small_pair
    with pytest.raises(SpaIMInputError, match="empty"):
        SpaIM(st[:0].copy(), sc)


def test_missing_layer_and_labels(small_pair):
    st, sc = small_pair
    with pytest.raises(SpaIMInputError, match="no layer 'counts'"):
        SpaIM(st, sc, st_layer="counts")
    with pytest.raises(SpaIMInputError, match="no obs column 'celltype'"):
        SpaIM(st, sc, labels_key="celltype")


def test_no_shared_genes(small_pair):
    st, sc = small_pair
    renamed = sc.copy()
    renamed.var_names = [f"other{i}" for i in range(sc.n_vars)]
    with pytest.raises(SpaIMInputError, match="share no gene names"):
        SpaIM(st, renamed)


def test_fewer_shared_genes_than_folds(small_pair):
    st, sc = small_pair
    with pytest.raises(SpaIMInputError, match="only 12 shared genes for 20 folds"):
        cross_validate(st[:, :12].copy(), sc, folds=20, labels_key="cell_type")


def test_k_larger_than_sc_cells(small_pair):
    st, sc = small_pair
    with pytest.raises(SpaIMInputError, match="exceeds the 400 SC cells"):
        SpaIM(st, sc, n_clusters=401)


def test_requested_gene_absent_from_sc(small_pair):
    st, sc = small_pair
    with pytest.raises(SpaIMInputError, match="not in the SC reference.*NotAGene"):
        SpaIM(st, sc, genes=["NotAGene"])


def test_not_an_anndata():
    with pytest.raises(SpaIMInputError, match="must be an AnnData"):
        SpaIM(np.zeros((3, 3)), ad.AnnData(np.zeros((3, 3))))
