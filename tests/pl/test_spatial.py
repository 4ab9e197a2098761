import anndata as ad
import matplotlib.image as mpimg
import numpy as np
import pytest

import spaim
from spaim.downstream import log_expression
from spaim.errors import SpaIMInputError
from spaim.metrics import pcc


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_spatial_draws_each_gene_at_the_cell_coordinates(trained_model, tmp_path):
    imputed = trained_model.impute(trained_model.default_genes()[:3])
    fig = spaim.pl.spatial(imputed, list(imputed.var_names), ncols=2, save=tmp_path / "s.png")
    axes = _panels(fig)
    assert [ax.get_title() for ax in axes] == list(imputed.var_names)
    drawn = axes[0].collections[0].get_offsets()
    assert np.allclose(np.sort(drawn, axis=0), np.sort(imputed.obsm["spatial"], axis=0))
    assert mpimg.imread(tmp_path / "s.png").shape[1] > 400


def test_spatial_reads_obs_coordinates_and_names_missing_genes(trained_model):
    imputed = trained_model.impute(trained_model.default_genes()[:1])
    xy = imputed.obsm.pop("spatial")
    imputed.obs["x"], imputed.obs["y"] = xy[:, 0], xy[:, 1]
    fig = spaim.pl.spatial(imputed, imputed.var_names[0])
    assert np.allclose(np.sort(_panels(fig)[0].collections[0].get_offsets(), axis=0), np.sort(xy, axis=0))
    with pytest.raises(SpaIMInputError, match="not in the data"):
        spaim.pl.spatial(imputed, ["NotAGene"])
    del imputed.obs["x"]
    with pytest.raises(SpaIMInputError, match="need coordinates"):
        spaim.pl.spatial(imputed, imputed.var_names[0])


def test_measured_vs_imputed_pairs_rows_and_reports_pcc(trained_model, tmp_path):
    genes = trained_model.data.shared_st[:2]
    imputed = trained_model.impute(genes)
    measured = log_expression(_st(trained_model))
    shuffled = imputed[::-1].copy()  # cells in another order are aligned, not mismatched
    fig = spaim.pl.measured_vs_imputed(measured, shuffled, genes, save=tmp_path / "m.png")
    titles = [ax.get_title() for ax in fig.axes]
    expected = pcc(measured[:, genes[0]].X.ravel().astype(float), imputed[:, genes[0]].X.ravel().astype(float))
    assert titles[0] == f"{genes[0]} measured" and titles[2] == f"{genes[0]} imputed, PCC {expected:.2f}"
    assert (tmp_path / "m.png").stat().st_size > 0


def _st(model):
    """The model's ST panel (counts of the shared genes) as AnnData."""
    st = ad.AnnData(X=model.data.st_counts, obs=model.data.st_obs)
    st.var_names = model.data.shared_st
    st.obsm["spatial"] = model.data.st_spatial
    return st
