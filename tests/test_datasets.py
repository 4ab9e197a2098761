import pytest

from spaim import datasets
from spaim.errors import SpaIMInputError


@pytest.mark.parametrize("name", sorted(datasets.DATASETS))
def test_local_files_match_their_checksums(name):
    folder = datasets.locate(name, download=False)
    for filename, digest in datasets.DATASETS[name].sha256.items():
        assert datasets.sha256(folder / filename) == digest


def test_load_returns_st_and_sc():
    st, sc = datasets.osmfish_cortex()
    assert st.shape == (3405, 33) and sc.shape == (5613, 33)


def test_lookup_order_prefers_explicit_dir(tmp_path, monkeypatch):
    (tmp_path / "merfish_hypothalamus").mkdir()
    source = datasets.locate("merfish_hypothalamus", download=False)
    for f in ("st.h5ad", "sc.h5ad"):
        (tmp_path / "merfish_hypothalamus" / f).write_bytes((source / f).read_bytes())
    assert datasets.locate("merfish_hypothalamus", data_dir=tmp_path) == tmp_path / "merfish_hypothalamus"
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    assert datasets.candidate_dirs()[0] == tmp_path


def test_missing_dataset_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "candidate_dirs", lambda data_dir=None: [tmp_path])
    with pytest.raises(SpaIMInputError, match="not found.*obtain it from"):
        datasets.locate("visium_lymphnode", download=True)
    with pytest.raises(SpaIMInputError, match="unknown dataset"):
        datasets.load("nope")
