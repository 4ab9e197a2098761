import pytest

from spaim.benchmark.methods.peer_source import ENV_VAR, import_from_source, source_folder


def test_source_folder_found_through_the_environment(tmp_path, monkeypatch):
    (tmp_path / "Peer" / "peerpkg").mkdir(parents=True)
    (tmp_path / "Peer" / "peerpkg" / "__init__.py").write_text("ANSWER = 42\n")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path))  # restored after the test, with the folder import_from_source adds
    assert source_folder("Peer") == tmp_path / "Peer"
    assert import_from_source("peerpkg", "Peer").ANSWER == 42


def test_missing_source_is_one_line_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(ImportError, match=ENV_VAR) as info:
        source_folder("NoSuchPeer")
    assert "\n" not in str(info.value)
