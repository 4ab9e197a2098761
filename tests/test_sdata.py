import os

import anndata as ad
import numpy as np
import pytest

from spaim import SpaIM, sdata
from spaim.cli import main
from spaim.errors import SpaIMInputError
from tests.conftest import fast_training

if os.environ.get("CI"):  # CI installs the spatialdata extra (`make test`): a failed import fails, never skips
    import spatialdata as sd
else:
    sd = pytest.importorskip("spatialdata")
from spatialdata.models import ShapesModel, TableModel  # noqa: E402


def _spatialdata(st: ad.AnnData) -> "sd.SpatialData":
    """A SpatialData as spatialdata-io builds from a vendor output: cell circles + a table annotating them."""
    xy = st.obsm["spatial"]
    ids = np.arange(st.n_obs) + 100  # instance ids differ from row numbers, as in vendor files
    circles = ShapesModel.parse(xy, geometry=0, radius=np.full(st.n_obs, 5.0), index=ids)
    table = ad.AnnData(X=st.X.copy(), obs=st.obs[[]].copy(), var=st.var[[]].copy())
    table.obs["region"] = "cell_circles"
    table.obs["cell_id"] = ids
    table = TableModel.parse(table, region="cell_circles", region_key="region", instance_key="cell_id")
    return sd.SpatialData(shapes={"cell_circles": circles}, tables={"table": table})


def test_table_comes_with_the_shape_centroids(small_pair):
    st, _ = small_pair
    data = _spatialdata(st)
    data.tables["table"] = data.tables["table"][::-1].copy()  # rows in another order than the shapes
    table = sdata.st_table(data)
    assert np.allclose(table.obsm["spatial"], st.obsm["spatial"][::-1])
    assert table.obs_names.equals(st.obs_names[::-1]) and "spatial" not in data.tables["table"].obsm


def test_model_runs_on_a_spatialdata_and_adds_its_table_back(small_pair, tmp_path):
    st, sc = small_pair
    data = _spatialdata(st[:, :60].copy())
    model = SpaIM(data, sc, labels_key="cell_type", widths=(16, 8)).train(**fast_training())
    imputed = model.impute(model.default_genes()[:3])
    assert np.array_equal(imputed.obsm["spatial"], st.obsm["spatial"]) and list(data.tables) == ["table"]
    table = sdata.add_table(data, imputed)
    assert list(data.tables) == ["table", "spaim_imputed"] and table.n_vars == 3
    assert table.uns["spatialdata_attrs"]["region"] == "cell_circles"
    data.write(tmp_path / "out.zarr")
    back = sd.read_zarr(tmp_path / "out.zarr")
    assert np.allclose(back.tables["spaim_imputed"].X, imputed.X)
    with pytest.raises(SpaIMInputError, match="already has a table 'spaim_imputed'"):
        sdata.add_table(data, imputed)


def test_cli_imputes_a_zarr_store(small_pair, tmp_path):
    st, sc = small_pair
    _spatialdata(st[:, :60].copy()).write(tmp_path / "st.zarr")
    sc.write_h5ad(tmp_path / "sc.h5ad")
    out = tmp_path / "out.h5ad"
    assert main(["impute", "--st", str(tmp_path / "st.zarr"), "--sc", str(tmp_path / "sc.h5ad"), "--out", str(out),
                 "--epochs", "2", "--quiet", "--labels-key", "cell_type", "--genes", sc.var_names[70], "--no-confidence"]) == 0
    imputed = ad.read_h5ad(out)
    assert imputed.n_obs == st.n_obs and list(imputed.var_names) == [sc.var_names[70]]


def test_several_tables_need_a_key(small_pair):
    st, _ = small_pair
    data = _spatialdata(st)
    data.tables["other"] = data.tables["table"].copy()
    with pytest.raises(SpaIMInputError, match="holds 2 tables"):
        sdata.st_table(data)
    with pytest.raises(SpaIMInputError, match="no table 'nope'"):
        sdata.st_table(data, "nope")
    assert sdata.st_table(data, "other").n_obs == st.n_obs
