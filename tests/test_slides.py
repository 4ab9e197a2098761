import anndata as ad
import numpy as np
import pandas as pd
import pytest

import spaim
from spaim.cli import main
from spaim.errors import SpaIMInputError

FAST = dict(labels_key="cell_type", widths=(16, 8), max_epochs=3, progress=False)


@pytest.fixture()
def two_slides(small_pair):
    """Two slides of the same tissue with different panels (50 shared genes each, 20 in common)."""
    st, sc = small_pair
    return {"a": st[:150, :50].copy(), "b": st[150:, 30:80].copy()}, sc


def test_one_reference_serves_every_slide(two_slides, monkeypatch):
    slides, sc = two_slides
    calls = []
    real = spaim.pairing.build_sc_reference
    monkeypatch.setattr(spaim.pairing, "build_sc_reference", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = spaim.impute_slides(slides, sc, folds=2, seed=0, **FAST)
    assert len(calls) == 1  # the reference is prepared once for both slides
    a, b = result.models["a"], result.models["b"]
    assert a.data.reference is b.data.reference
    assert result.imputed["a"].n_obs == 150 and result.imputed["b"].n_obs == 150
    # b's panel genes outside a's panel are imputable on slide a, and the converse
    assert set(slides["b"].var_names[-10:]) <= set(result.imputed["a"].var_names)
    assert set(slides["a"].var_names[:10]) <= set(result.imputed["b"].var_names)
    scores = result.scores
    assert list(scores.columns) == ["slide", "gene", "fold", "pcc", "ssim", "rmse", "js"]
    assert scores.groupby("slide")["gene"].apply(set).to_dict() == {n: set(s.var_names) for n, s in slides.items()}


def test_slides_on_a_dask_local_cluster_give_the_inline_result(two_slides):
    slides, sc = two_slides
    inline = spaim.impute_slides(slides, sc, folds=2, seed=0, **FAST)
    on_dask = spaim.impute_slides(slides, sc, folds=2, seed=0, scheduler=None, workers=2, **FAST)
    assert list(on_dask.imputed) == ["a", "b"]
    for name in slides:
        np.testing.assert_allclose(on_dask.imputed[name].X, inline.imputed[name].X, atol=1e-5)
        assert list(on_dask.imputed[name].var_names) == list(inline.imputed[name].var_names)
    pd.testing.assert_frame_equal(on_dask.scores, inline.scores, atol=1e-5)
    assert on_dask.models["a"].data.reference is on_dask.models["b"].data.reference


def test_cli_writes_one_output_per_slide(two_slides, tmp_path, capsys):
    slides, sc = two_slides
    for name, st in slides.items():
        st.write_h5ad(tmp_path / f"{name}.h5ad")
    sc.write_h5ad(tmp_path / "sc.h5ad")
    out = tmp_path / "imputed"
    args = ["impute", "--st", str(tmp_path / "a.h5ad"), str(tmp_path / "b.h5ad"), "--sc", str(tmp_path / "sc.h5ad"),
            "--out", str(out), "--epochs", "2", "--quiet", "--labels-key", "cell_type", "--cv-folds", "2",
            "--save-model", str(tmp_path / "models"), "--workers", "2"]  # the slides as tasks on a local Dask cluster
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.h5ad", "b.h5ad", "cv.csv"]
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["a", "b"] and (tmp_path / "models" / "b" / "module.pt").exists()
    assert ad.read_h5ad(out / "b.h5ad").obs_names.equals(slides["b"].obs_names)
    assert set(pd.read_csv(out / "cv.csv")["slide"]) == {"a", "b"}
    printed = capsys.readouterr().out
    assert "median_pcc" in printed and " a " in f" {printed} " and "b" in printed
    assert main(args) == 2 and "already exists" in capsys.readouterr().err  # nothing overwritten without --force


def test_slides_need_distinct_names_and_a_folder(two_slides, tmp_path, capsys):
    slides, sc = two_slides
    (tmp_path / "x").mkdir()
    slides["a"].write_h5ad(tmp_path / "a.h5ad")
    slides["a"].write_h5ad(tmp_path / "x" / "a.h5ad")
    sc.write_h5ad(tmp_path / "sc.h5ad")
    common = ["--sc", str(tmp_path / "sc.h5ad"), "--quiet"]
    assert main(["impute", "--st", str(tmp_path / "a.h5ad"), str(tmp_path / "x" / "a.h5ad"), "--out", str(tmp_path / "o"), *common]) == 2
    assert "distinct names" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["impute", "--st", str(tmp_path / "a.h5ad"), str(tmp_path / "sc.h5ad"), "--out", str(tmp_path / "file"), *common]) == 2
    assert "is a file" in capsys.readouterr().err
    with pytest.raises(SpaIMInputError, match="no ST slides"):
        spaim.impute_slides({}, sc)
    assert np.array_equal(slides["a"].X, ad.read_h5ad(tmp_path / "a.h5ad").X)
