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
