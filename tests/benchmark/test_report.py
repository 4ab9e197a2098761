import numpy as np
import pandas as pd
import pytest

from spaim.benchmark.report import SUMMARY_COLUMNS, best_peer, per_gene_table, summary_table, write_report


@pytest.fixture(scope="module")
def tables(request):
    result = request.getfixturevalue("run")[2]
    per_gene = per_gene_table([result])
    return result, per_gene, summary_table([result], per_gene)


def test_summary_has_one_row_per_method_including_failures(tables):
    result, per_gene, summary = tables
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert list(summary["method"]) == ["knn", "spage"]
    knn, spage = summary.iloc[0], summary.iloc[1]
    assert knn["status"] == "ok" and knn["acc"] == 1.0  # the only method that ran ranks first
    assert knn["median_pcc"] == pytest.approx(per_gene["pcc"].median())
    assert spage["status"].startswith("TypeError") and np.isnan(spage["median_pcc"]) and np.isnan(spage["acc"])
    assert best_peer(summary, "merfish") == "knn"
    assert best_peer(summary, "merfish", reference="knn") is None


def test_report_names_methods_settings_figures_and_failures(tables, tmp_path):
    _, _, summary = tables
    path = tmp_path / "report.md"
    write_report(path, summary, {"merfish": ["boxplots_merfish.png"]}, "spaim benchmark ...", folds=3, seed=0)
    text = path.read_text()
    assert "3 folds" in text and "![boxplots_merfish](boxplots_merfish.png)" in text
    assert "k=20 neighbours" in text  # the kNN settings column
    assert "merfish / spage: TypeError" in text


def test_per_gene_table_of_nothing_has_the_columns():
    assert list(per_gene_table([])) == ["dataset", "method", "fold", "gene", "pcc", "ssim", "rmse", "js"]
    assert isinstance(per_gene_table([]), pd.DataFrame)
