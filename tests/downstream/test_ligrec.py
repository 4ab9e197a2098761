import numpy as np
import pandas as pd
import pytest

from spaim.downstream.ligrec import (
    compare_pairs,
    guess_resource,
    ligand_receptor,
    load_resource,
    present_pairs,
    shuffled_pairs,
    spatial_bivariate,
)

pytest.importorskip("liana")


@pytest.fixture(scope="module")
def planted(visium_log):
    """Two liana consensus pairs of the Visium panel: one made co-expressed, one permuted (independent)."""
    pairs = present_pairs(load_resource("consensus"), visium_log.var_names)
    chosen, used = [], set()
    for lig, rec in pairs.itertuples(index=False):
        genes = {*lig.split("_"), *rec.split("_")}
        if "_" not in lig + rec and not genes & used:
            chosen.append((lig, rec))
            used |= genes
    (l1, r1), (l2, r2) = chosen[:2]
    adata = visium_log.copy()
    rng = np.random.default_rng(0)
    x = adata.X
    x[:, adata.var_names.get_loc(r1)] = x[:, adata.var_names.get_loc(l1)] + rng.normal(0, 0.05, adata.n_obs) + 1
    x[:, adata.var_names.get_loc(r2)] = rng.permutation(x[:, adata.var_names.get_loc(l2)]) + rng.normal(0, 0.05, adata.n_obs) + 1
    return adata, pd.DataFrame({"ligand": [l1, l2], "receptor": [r1, r2]})


@pytest.mark.parametrize("method,pvalue", [("spearman", "analytic"), ("pearson", "permutation")])
def test_planted_pair_found_permuted_pair_not(planted, method, pvalue):
    adata, resource = planted
    table = ligand_receptor(adata, resource=resource, method=method, pvalue=pvalue, n_perms=200)
    found = table.set_index("ligand")
    good, bad = resource["ligand"]
    assert found.loc[good, "significant"] and found.loc[good, "r"] > 0.5
    assert not found.loc[bad, "significant"] and abs(found.loc[bad, "r"]) < 0.15
    if pvalue == "permutation":
        assert found.loc[good, "pval"] == pytest.approx(1 / 201)


def test_complex_scored_by_its_weakest_subunit(planted):
    adata, resource = planted
    l1, r1 = resource.iloc[0]
    l2 = resource.iloc[1, 0]
    complex_ = pd.DataFrame({"ligand": [l1, l1], "receptor": [r1, f"{r1}_{l2}"]})
    table = ligand_receptor(adata, resource=complex_).set_index("receptor")
    weakest = np.minimum(adata[:, r1].X.ravel(), adata[:, l2].X.ravel())
    expected = pd.Series(adata[:, l1].X.ravel()).corr(pd.Series(weakest), method="spearman")
    assert table.loc[f"{r1}_{l2}", "r"] == pytest.approx(expected, abs=1e-6)


def test_resource_is_liana_s_and_matches_species(visium_log, seqfish_log):
    assert guess_resource(visium_log.var_names) == "consensus"
    assert guess_resource(seqfish_log.var_names) == "mouseconsensus"
    resource = load_resource("mouseconsensus")
    assert len(resource) > 1000 and list(resource.columns) == ["ligand", "receptor"]


def test_raw_table_on_real_data_and_self_comparison(visium_log):
    before = visium_log.X.copy()
    table = ligand_receptor(visium_log)
    np.testing.assert_array_equal(visium_log.X, before)
    assert len(table) == len(present_pairs(load_resource("consensus"), visium_log.var_names)) > 0
    assert table["fdr"].between(0, 1).all() and (table["fdr"] >= table["pval"] - 1e-12).all()
    summary = compare_pairs({"raw": table, "copy": table}).set_index("data")
    assert summary.loc["copy", "n_significant_in_both"] == summary.loc["raw", "n_significant"]
    assert summary.loc["copy", "r_correlation"] == pytest.approx(1.0)


def test_spatial_bivariate_scores_present_pairs(planted):
    adata, resource = planted
    table = spatial_bivariate(adata, resource=resource, n_perms=0)
    assert set(table["ligand"]) == set(resource["ligand"])
    assert table["morans"].notna().all()


def test_shuffled_pairs_are_unlisted_recombinations(visium_log):
    pairs = present_pairs(load_resource("consensus"), visium_log.var_names)
    null = shuffled_pairs(pairs, n_pairs=10, seed=1)
    listed = set(zip(pairs["ligand"], pairs["receptor"], strict=True))
    drawn = list(zip(null["ligand"], null["receptor"], strict=True))
    assert len(drawn) == len(set(drawn)) > 0 and not set(drawn) & listed
    assert set(null["ligand"]) <= set(pairs["ligand"]) and set(null["receptor"]) <= set(pairs["receptor"])
    assert shuffled_pairs(pairs, n_pairs=10, seed=1).equals(null)


def test_no_testable_pair_gives_an_empty_typed_table(seqfish_log):
    table = ligand_receptor(seqfish_log[:, :3], resource="mouseconsensus")
    assert table.empty and table["significant"].dtype == bool
