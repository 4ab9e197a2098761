"""analyse(): every version is compared with the measured data on the same genes."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from spaim.downstream.report import analyse

pytest.importorskip("liana")


def test_genes_imputed_beyond_the_panel_change_neither_pairs_nor_domains(seqfish, seqfish_log):
    st = seqfish[0][:300].copy()
    panel = seqfish_log[:300].copy()
    rng = np.random.default_rng(0)
    extra = ad.AnnData(rng.gamma(1.0, 1.0, size=(panel.n_obs, 40)).astype(np.float32), obs=panel.obs[[]],
                       var=pd.DataFrame(index=[f"New{i}" for i in range(40)]))
    wider = ad.concat([panel, extra], axis=1)
    wider.obs = panel.obs[[]]
    result = analyse(st, {"panel": panel, "wider": wider}, labels_key="cell_type", allow_non_integer=True)
    ari = result.domains.set_index("data")["ari"]
    assert ari["wider"] == pytest.approx(ari["panel"])
    pairs = result.pairs_summary.set_index("data")
    pd.testing.assert_series_equal(pairs.loc["wider"], pairs.loc["panel"], check_names=False)
    tested = result.degs["wider"]
    assert set(tested.loc[~tested["gene_measured"], "gene"]) == set(extra.var_names)  # new genes still reach the DEGs
    assert not result.degs["panel"]["gene"].isin(extra.var_names).any()
    assert result.data["wider"].n_vars == panel.n_vars + 40
