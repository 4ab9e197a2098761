import anndata as ad
import numpy as np
import pandas as pd
import pytest

from spaim.errors import SpaIMInputError
from spaim.io import atomic_path, read_h5ad, write_csv, write_h5ad


def test_write_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "t.csv"
    write_csv(pd.DataFrame({"a": [1]}), out)
    with pytest.raises(SpaIMInputError, match="already exists.*--force"):
        write_csv(pd.DataFrame({"a": [2]}), out)
    write_csv(pd.DataFrame({"a": [2]}), out, force=True)
    assert pd.read_csv(out).a.tolist() == [2]


def test_failed_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path):
    out = tmp_path / "t.csv"
    out.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(out, force=True) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_h5ad_round_trip(tmp_path):
    a = ad.AnnData(np.arange(6, dtype=np.float32).reshape(2, 3))
    write_h5ad(a, tmp_path / "a.h5ad")
    assert np.array_equal(read_h5ad(tmp_path / "a.h5ad").X, a.X)


def test_unreadable_or_missing_file(tmp_path):
    bad = tmp_path / "bad.h5ad"
    bad.write_text("not hdf5")
    with pytest.raises(SpaIMInputError, match="not a readable .h5ad"):
        read_h5ad(bad, "ST")
    with pytest.raises(SpaIMInputError, match="does not exist"):
        read_h5ad(tmp_path / "missing.h5ad", "SC")
