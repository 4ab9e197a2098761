import anndata as ad
import numpy as np
import pandas as pd
import pytest

from spaim.errors import SpaIMInputError
from spaim.writer import open_h5ad_writer, resolve_chunk_size, resolve_dtype


def _frame(n_cells: int = 50, n_genes: int = 37) -> ad.AnnData:
    frame = ad.AnnData(obs=pd.DataFrame({"kind": ["a", "b"] * (n_cells // 2)}, index=[f"c{i}" for i in range(n_cells)]),
                       var=pd.DataFrame({"measured": [False] * n_genes}, index=[f"g{i}" for i in range(n_genes)]))
    frame.obsm["spatial"] = np.arange(2 * n_cells, dtype=float).reshape(n_cells, 2)
    frame.uns["spaim"] = {"scale": "log1p"}
    return frame


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_chunks_written_in_place_read_back_as_one_h5ad(tmp_path, dtype):
    frame = _frame()
    values = np.random.default_rng(0).random(frame.shape).astype(np.float32)
    with open_h5ad_writer(tmp_path / "out.h5ad", frame, dtype) as x:
        for start in range(0, frame.n_vars, 8):
            x[:, start:start + 8] = values[:, start:start + 8]
    back = ad.read_h5ad(tmp_path / "out.h5ad")
    assert back.X.dtype == np.dtype(dtype)
    assert np.array_equal(back.X, values.astype(dtype))
    assert back.obs_names.equals(frame.obs_names) and back.obs["kind"].tolist() == frame.obs["kind"].tolist()
    assert back.var.equals(frame.var)
    assert np.array_equal(back.obsm["spatial"], frame.obsm["spatial"]) and back.uns["spaim"]["scale"] == "log1p"
    assert ad.read_h5ad(tmp_path / "out.h5ad", backed="r").X[3:5, 10:12].shape == (2, 2)


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), open_h5ad_writer(tmp_path / "out.h5ad", _frame()) as x:
        x[:, :8] = 1.0
        raise RuntimeError("model failed mid-way")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_force(tmp_path):
    (tmp_path / "out.h5ad").write_text("old")
    with pytest.raises(SpaIMInputError, match="already exists"), open_h5ad_writer(tmp_path / "out.h5ad", _frame()):
        pass
    assert (tmp_path / "out.h5ad").read_text() == "old"


def test_chunk_size_and_dtype_checks():
    assert resolve_chunk_size(None, 10**6) * 10**6 * 4 <= 64 * 2**20
    assert resolve_chunk_size(None, 10**6) % 16 == 0 and resolve_chunk_size(None, 10**9) == 1
    assert resolve_chunk_size(7, 10) == 7
    assert resolve_dtype("float16") == np.float16
    with pytest.raises(SpaIMInputError, match="chunk_size"):
        resolve_chunk_size(0, 10)
    with pytest.raises(SpaIMInputError, match="dtype 'int8'"):
        resolve_dtype("int8")


def test_layers_and_a_var_set_while_writing_cut_the_file_to_its_genes(tmp_path):
    frame = _frame()
    values = np.random.default_rng(0).random(frame.shape).astype(np.float32)
    with open_h5ad_writer(tmp_path / "out.h5ad", frame, layers=("lower",)) as blocks:
        kept = [2, 5, 30]  # written first, one after the other
        blocks[:, 0:3] = values[:, kept]
        blocks.layers["lower"][:, 0:3] = values[:, kept] - 1
        blocks.var = frame.var.iloc[kept].assign(confidence=[0.5, 0.2, 0.9])
    back = ad.read_h5ad(tmp_path / "out.h5ad")
    assert list(back.var_names) == ["g2", "g5", "g30"] and back.var["confidence"].tolist() == [0.5, 0.2, 0.9]
    assert np.array_equal(back.X, values[:, kept]) and np.array_equal(back.layers["lower"], values[:, kept] - 1)
    assert back.obs_names.equals(frame.obs_names)
