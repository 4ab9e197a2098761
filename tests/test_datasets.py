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


@pytest.fixture()
def served(tmp_path):
    """A local HTTP server (loopback only) serving tmp_path/www."""
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def test_download_checks_the_hash_and_keeps_nothing_bad(served, tmp_path):
    root, base = served
    (root / "st.h5ad").write_bytes(b"spatial bytes")
    good = datasets.sha256(root / "st.h5ad")
    dataset = datasets.Dataset("toy", "toy", "test", {"st.h5ad": good}, {"st.h5ad": f"{base}/st.h5ad"})
    target = datasets._download(dataset, tmp_path / "cache")
    assert (target / "st.h5ad").read_bytes() == b"spatial bytes"
    bad = datasets.Dataset("toy", "toy", "test", {"st.h5ad": "0" * 64}, {"st.h5ad": f"{base}/st.h5ad"})
    with pytest.raises(SpaIMInputError, match="did not match its checksum"):
        datasets._download(bad, tmp_path / "cache2")
    assert not any((tmp_path / "cache2").iterdir())
    missing = datasets.Dataset("toy", "toy", "test", {"sc.h5ad": good}, {"sc.h5ad": f"{base}/sc.h5ad"})
    with pytest.raises(SpaIMInputError, match="could not download"):
        datasets._download(missing, tmp_path / "cache3")
