import argparse

import pandas as pd
import pytest

from spaim.downstream.cli import register, run

pytest.importorskip("liana")


def _parse(argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["downstream", *argv])


@pytest.fixture(scope="module")
def files(tmp_path_factory, seqfish):
    st, sc = seqfish
    folder = tmp_path_factory.mktemp("inputs")
    st[:300].write_h5ad(folder / "st.h5ad")
    sc.write_h5ad(folder / "sc.h5ad")
    return folder


def test_cli_imputes_with_knn_and_writes_the_report(files, tmp_path):
    out = tmp_path / "report"
    args = _parse(["--st", str(files / "st.h5ad"), "--sc", str(files / "sc.h5ad"), "--allow-non-integer", "--methods", "knn",
                   "--folds", "2", "--labels-key", "cell_type", "--out", str(out)])
    assert args.func(args) == 0
    for name in ["report.md", "lr_summary.csv", "deg_counts.csv", "domains_ari.csv", "lr_scatter.png", "deg_counts.png",
                 "domains.png", "maps_knn.png", "lr_pairs_raw.csv", "deg_knn.csv"]:
        assert (out / name).stat().st_size > 0, name
    ari = pd.read_csv(out / "domains_ari.csv").set_index("data")
    assert list(ari.index) == ["raw", "knn"] and ari["ari"].between(-1, 1).all()
    counts = pd.read_csv(out / "deg_counts.csv")
    assert set(counts.columns) == {"group", "raw", "knn"}
    degs = pd.read_csv(out / "deg_knn.csv")
    assert degs["significant"].all() and len(degs) == counts["knn"].sum()
    summary = pd.read_csv(out / "lr_summary.csv")
    background = summary["shuffled_significant_fraction"]  # NaN: too few pairs to recombine
    assert (background.isna() | background.between(0, 1)).all()
    report = (out / "report.md").read_text()
    assert "cell-type labels from ST obs['cell_type']" in report and "mouseconsensus" in report
    assert f"| raw | {ari.loc['raw', 'n_clusters']} | {ari.loc['raw', 'ari']:.3f} |" in report


def test_cli_reads_given_imputations_and_rejects_bad_input(files, tmp_path, seqfish_log):
    imputed = seqfish_log[:300].copy()
    imputed.write_h5ad(tmp_path / "imp.h5ad")
    args = _parse(["--st", str(files / "st.h5ad"), "--imputed", str(tmp_path / "imp.h5ad"), "--imputed-other",
                   f"copy={tmp_path / 'imp.h5ad'}", "--out", str(tmp_path / "out")])
    assert run(args) == 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Leiden clusters" in report
    summary = pd.read_csv(tmp_path / "out" / "lr_summary.csv")
    assert list(summary["data"]) == ["raw", "spaim", "copy"]
    from spaim.errors import SpaIMInputError

    with pytest.raises(SpaIMInputError, match="not empty"):
        run(args)
    with pytest.raises(SpaIMInputError, match="NAME=FILE"):
        run(_parse(["--st", str(files / "st.h5ad"), "--imputed-other", "nofile", "--out", str(tmp_path / "o2")]))


def test_carry_adds_the_earlier_reports_other_versions_as_they_were(files, tmp_path, seqfish_log):
    imputed = seqfish_log[:300].copy()
    imputed.write_h5ad(tmp_path / "imp.h5ad")
    st = ["--st", str(files / "st.h5ad"), "--imputed", str(tmp_path / "imp.h5ad")]
    earlier, now = tmp_path / "earlier", tmp_path / "now"
    assert run(_parse([*st, "--imputed-other", f"copy={tmp_path / 'imp.h5ad'}", "--out", str(earlier)])) == 0
    assert run(_parse([*st, "--carry", str(earlier), "--out", str(now)])) == 0
    for table in ("lr_summary.csv", "domains_ari.csv", "deg_counts.csv", "domains_clusters.csv", "lr_pairs_copy.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(now / table), pd.read_csv(earlier / table), check_dtype=False, obj=table)
    assert (now / "maps_copy.png").read_bytes() == (earlier / "maps_copy.png").read_bytes()
    assert "Carried from" in (now / "report.md").read_text() and "copy." in (now / "report.md").read_text()


def test_carry_needs_an_earlier_report_of_the_same_groups(files, tmp_path, seqfish_log):
    from spaim.errors import SpaIMInputError

    imputed = seqfish_log[:300].copy()
    imputed.write_h5ad(tmp_path / "imp.h5ad")
    st = ["--st", str(files / "st.h5ad"), "--imputed", str(tmp_path / "imp.h5ad")]
    assert run(_parse([*st, "--imputed-other", f"copy={tmp_path / 'imp.h5ad'}", "--out", str(tmp_path / "leiden")])) == 0
    with pytest.raises(SpaIMInputError, match="reference groups differ"):
        run(_parse([*st, "--labels-key", "cell_type", "--carry", str(tmp_path / "leiden"), "--out", str(tmp_path / "labels")]))
    with pytest.raises(SpaIMInputError, match="no lr_summary.csv there"):
        run(_parse([*st, "--carry", str(tmp_path / "nowhere"), "--out", str(tmp_path / "other")]))
    assert not (tmp_path / "other").exists()  # refused before any analysis
