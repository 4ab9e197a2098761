import anndata as ad
import numpy as np
import pytest

from spaim import SpaIM
from spaim.errors import SpaIMInputError
from tests.conftest import fast_training


@pytest.fixture()
def trained(small_pair):
    st, sc = small_pair
    train_genes = list(st.var_names[:100])
    model = SpaIM(st[:, train_genes].copy(), sc, labels_key="cell_type", widths=(64, 32))
    return model.train(**fast_training()), st, sc


def test_inputs_are_never_modified(small_pair):
    st, sc = small_pair
    st_before, sc_before = st.copy(), sc.copy()
    SpaIM(st, sc, n_clusters=6, widths=(16, 8)).train(max_epochs=2, progress=False).impute(list(st.var_names[:3]))
    for after, before in ((st, st_before), (sc, sc_before)):
        assert np.array_equal(after.X, before.X)
        assert after.obs.equals(before.obs) and after.var.equals(before.var)
        assert list(after.obsm) == list(before.obsm) and list(after.layers) == list(before.layers)


def test_impute_returns_a_new_anndata_of_unmeasured_genes(trained):
    model, st, _ = trained
    out = model.impute()
    expected = [g for g in model.data.reference.genes if g not in set(st.var_names[:100])]
    assert list(out.var_names) == expected and not out.var["measured"].any()
    assert list(out.obs_names) == list(st.obs_names)
    assert np.array_equal(out.obsm["spatial"], st.obsm["spatial"])
    assert out.X.min() >= 0 and np.isfinite(out.X).all()


def test_measured_genes_can_be_predicted_and_are_flagged(trained):
    model, st, _ = trained
    out = model.impute([st.var_names[0], model.default_genes()[0]])
    assert out.var["measured"].tolist() == [True, False]


def test_imputation_errors(trained, small_pair):
    model, st, _ = trained
    with pytest.raises(SpaIMInputError, match="not available in the SC reference"):
        model.impute(["NotAGene"])
    with pytest.raises(SpaIMInputError, match="duplicates"):
        model.impute([st.var_names[0]] * 2)
    with pytest.raises(SpaIMInputError, match="not trained"):
        SpaIM(*small_pair, n_clusters=4, widths=(8, 4)).impute()


def test_scale_is_fitted_on_the_log1p_scale(trained):
    model, st, _ = trained
    measured = np.log1p(st[:, model.data.shared_st].X)
    predicted = model.predict(model.data.shared_sc)
    assert model.scale_ > 0
    assert 0.5 < predicted.mean() / measured.mean() < 2.0


def test_save_load_round_trip(trained, tmp_path):
    model, st, sc = trained
    st_train = st[:, list(st.var_names[:100])].copy()
    model.save(tmp_path / "m")
    loaded = SpaIM.load(tmp_path / "m", st_train, sc)
    genes = list(model.default_genes()[:5])
    assert np.allclose(loaded.predict(genes), model.predict(genes))
    assert loaded.history.shape == model.history.shape
    with pytest.raises(SpaIMInputError, match="already holds a saved model"):
        model.save(tmp_path / "m")
    with pytest.raises(SpaIMInputError, match="ST cells differ"):
        SpaIM.load(tmp_path / "m", st_train[:50].copy(), sc)
    with pytest.raises(SpaIMInputError, match="lacks"):
        SpaIM.load(tmp_path / "m", st_train, sc[:, 10:].copy())
    with pytest.raises(SpaIMInputError, match="not a saved SpaIM model"):
        SpaIM.load(tmp_path, st_train, sc)


def test_offset_puts_each_genes_lowest_cell_at_zero_and_keeps_its_pattern(small_pair):
    st, sc = small_pair
    genes = list(st.var_names[:20])
    fits = {offset: SpaIM(st[:, 20:].copy(), sc, genes=genes, labels_key="cell_type", widths=(16, 8), offset=offset)
            .train(max_epochs=2, progress=False) for offset in ("lowest", "none")}
    lowest, none = (fits[o].predict(genes) for o in ("lowest", "none"))
    assert np.all(lowest.min(axis=0) == 0)
    assert np.median(none.min(axis=0)) > 0.01  # a soft mixture of SC profiles lifts every cell
    varying = none.std(axis=0) > 0
    pcc = [np.corrcoef(lowest[:, j], none[:, j])[0, 1] for j in np.flatnonzero(varying)]
    assert varying.sum() >= 15 and min(pcc) > 0.9999


def test_models_saved_before_the_offset_option_predict_as_they_did(trained, tmp_path):
    import json

    model, st, sc = trained
    path = model.save(tmp_path / "m")
    settings = json.loads((path / "settings.json").read_text())
    del settings["module_params"]["offset"]
    (path / "settings.json").write_text(json.dumps(settings))
    loaded = SpaIM.load(path, st[:, list(st.var_names[:100])].copy(), sc)
    assert loaded.module_params["offset"] == "none"
    assert np.median(loaded.predict(model.default_genes()[:10]).min(axis=0)) > 0


def test_cellbasis_models_saved_before_the_gate_ask_to_be_retrained(trained, tmp_path):
    import torch

    model, st, sc = trained
    path = model.save(tmp_path / "m")
    state = torch.load(path / "module.pt", weights_only=True)
    del state["gate"]
    torch.save(state, path / "module.pt")
    with pytest.raises(SpaIMInputError, match="earlier spaim.*train the model again"):
        SpaIM.load(path, st[:, list(st.var_names[:100])].copy(), sc)


def test_same_seed_same_imputation(small_pair):
    st, sc = small_pair
    runs = [SpaIM(st, sc, labels_key="cell_type", widths=(32, 16), seed=3).train(max_epochs=5, progress=False).predict(list(st.var_names[:3])) for _ in range(2)]
    assert np.array_equal(runs[0], runs[1])


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_streamed_output_equals_the_in_memory_result(trained, tmp_path, dtype):
    model, _, _ = trained
    in_memory = model.impute(dtype=dtype)
    path = model.impute(out=tmp_path / "imputed.h5ad", chunk_size=7, dtype=dtype)
    on_disk = ad.read_h5ad(path)
    assert on_disk.X.dtype == np.dtype(dtype) == in_memory.X.dtype
    assert np.allclose(on_disk.X.astype(np.float32), in_memory.X.astype(np.float32), rtol=1e-3, atol=1e-5)
    assert list(on_disk.var_names) == list(in_memory.var_names) and list(on_disk.obs_names) == list(in_memory.obs_names)
    assert on_disk.var["measured"].tolist() == in_memory.var["measured"].tolist()
    assert np.array_equal(on_disk.obsm["spatial"], in_memory.obsm["spatial"])


def test_streamed_output_selects_genes_and_never_overwrites_silently(trained, tmp_path):
    model, _, _ = trained
    genes = model.default_genes()[3:8]
    path = model.impute(genes, out=tmp_path / "few.h5ad", chunk_size=2)
    assert list(ad.read_h5ad(path).var_names) == genes
    with pytest.raises(SpaIMInputError, match="already exists"):
        model.impute(genes, out=path)
    with pytest.raises(SpaIMInputError, match="not available"):
        model.impute(["NotAGene"], out=tmp_path / "bad.h5ad")
    assert not (tmp_path / "bad.h5ad").exists()
    model.impute(genes[:1], out=path, force=True)
    assert ad.read_h5ad(path).n_vars == 1


def test_predict_in_chunks_matches_one_chunk(trained):
    model, _, _ = trained
    genes = model.default_genes()[:20]
    # float32 sums differ in the last bits between chunkings; the fitted scale multiplies them
    np.testing.assert_allclose(model.predict(genes, chunk_size=3), model.predict(genes), rtol=1e-5, atol=1e-5)


def test_the_adam_step_defaults_to_the_architectures_own(small_pair):
    st, sc = small_pair
    steps = {}
    for architecture in ("cellbasis", "paper"):
        model = SpaIM(st[:, :60].copy(), sc, labels_key="cell_type", widths=(16, 8), architecture=architecture)
        steps[architecture] = model.train(max_epochs=1, progress=False).train_params["lr"]
    assert steps == {"cellbasis": 3e-3, "paper": 1e-3}
    assert model.train(max_epochs=1, lr=5e-3, progress=False).train_params["lr"] == 5e-3  # a given step wins
