import pandas as pd
import pytest

from spaim.errors import SpaIMInputError
from spaim.genes import match_genes


def test_exact_matching_keeps_st_order():
    m = match_genes(pd.Index(["B", "A", "Z"]), pd.Index(["A", "B", "C"]))
    assert m.st_names == ["B", "A"] and m.sc_names == ["B", "A"] and m.st_only == ["Z"]


def test_case_insensitive_matching_maps_names_of_each_side():
    m = match_genes(pd.Index(["GAD1", "Sst"]), pd.Index(["Gad1", "SST"]), case_sensitive=False)
    assert m.st_names == ["GAD1", "Sst"] and m.sc_names == ["Gad1", "SST"]


def test_case_insensitive_collisions_are_dropped_and_reported():
    m = match_genes(pd.Index(["Gad1", "Sst"]), pd.Index(["Gad1", "GAD1", "Sst"]), case_sensitive=False)
    assert m.st_names == ["Sst"] and m.ambiguous == ["Gad1"]
    assert "ambiguous" in m.summary()


def test_no_shared_gene_is_an_error_with_a_hint():
    with pytest.raises(SpaIMInputError, match="share no gene.*ignore-case"):
        match_genes(pd.Index(["GAD1"]), pd.Index(["Gad1"]))


def test_gene_summary_counts_shared_kept_and_dropped(small_pair):
    from spaim.pairing import prepare_pair

    st, sc = small_pair
    data = prepare_pair(st[:, :50].copy(), sc, labels_key="cell_type")
    n_rare = int(((sc.X > 0).mean(0) < 0.1).sum() - ((sc[:, :50].X > 0).mean(0) < 0.1).sum())
    text = data.gene_summary()
    assert "50 shared genes" in text and f"{sc.n_vars} genes" in text
    assert f"{n_rare} dropped (expressed in < 10% of SC cells)" in text
