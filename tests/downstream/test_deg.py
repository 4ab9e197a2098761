import numpy as np
import pytest

from spaim.downstream.deg import count_degs, differential_genes
from spaim.errors import SpaIMInputError


@pytest.fixture(scope="module")
def planted(seqfish_log):
    """One gene made a marker of one cell type, one gene made constant."""
    adata = seqfish_log.copy()
    group = adata.obs["cell_type"].value_counts().index[0]
    in_group = (adata.obs["cell_type"] == group).to_numpy()
    marker, flat = adata.var_names[0], adata.var_names[1]
    adata.X[:, 0] = np.where(in_group, 4.0, 0.0)
    adata.X[:, 1] = 2.0
    return adata, group, marker, flat


def test_planted_marker_found_only_in_its_group(planted):
    adata, group, marker, flat = planted
    table = differential_genes(adata, "cell_type")
    hits = table[table["significant"]]
    assert ((hits["gene"] == marker) & (hits["group"] == group)).any()
    assert set(hits.loc[hits["gene"] == marker, "group"]) == {group}
    assert flat not in set(hits["gene"])
    row = table[(table["gene"] == marker) & (table["group"] == group)].iloc[0]
    assert row["log2fc"] == pytest.approx(np.log2(np.expm1(4.0) + 1))  # pseudocount 1, silent outside


def test_thresholds_are_parameters_and_fold_change_matches_scanpy(planted):
    adata, *_ = planted
    strict = differential_genes(adata, "cell_type", alpha=0.05, min_log2fc=1.0)
    loose = differential_genes(adata, "cell_type", alpha=1.1, min_log2fc=-np.inf)
    assert strict["significant"].sum() < loose["significant"].sum() == len(loose)
    assert ((strict["pval_adj"] < 0.05) & (strict["log2fc"] > 1)).equals(strict["significant"])
    group = "Astrocyte"
    inside = (adata.obs["cell_type"] == group).to_numpy()
    linear = np.expm1(adata.X.astype(np.float64))
    expected = np.log2((linear[inside].mean(0) + 1) / (linear[~inside].mean(0) + 1))
    ours = strict[strict["group"] == group].set_index("gene").loc[adata.var_names, "log2fc"]
    np.testing.assert_allclose(ours, expected, rtol=1e-9)


def test_counts_per_group_and_input_untouched(seqfish_log):
    before = seqfish_log.X.copy()
    table = differential_genes(seqfish_log, "cell_type")
    np.testing.assert_array_equal(seqfish_log.X, before)
    counts = count_degs({"raw": table, "twice": table})
    assert (counts["raw"] == counts["twice"]).all()
    assert counts["raw"].sum() == table["significant"].sum() > 0
    assert set(counts["group"]) == set(table["group"])
    assert (counts["raw"] <= seqfish_log.n_vars).all()


def test_missing_labels_column(seqfish_log):
    with pytest.raises(SpaIMInputError, match="no obs column"):
        differential_genes(seqfish_log, "nope")
