import numpy as np
import pandas as pd
import pytest

from spaim.benchmark.report import (
    SUMMARY_COLUMNS, below_floors, best_peer, cell_level_table, gene_wins, per_gene_table, summary_table, write_report,
)


@pytest.fixture(scope="module")
def tables(request):
    result = request.getfixturevalue("run")[2]
    per_gene = per_gene_table([result])
    return result, per_gene, summary_table([result], per_gene, cell_level_table([result]))


def test_summary_has_one_row_per_method_and_scoring_including_failures(tables):
    result, per_gene, summary = tables
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert list(summary["method"]) == ["knn", "spage", "knn", "spage"]
    assert list(summary["scoring"]) == ["normalized", "normalized", "raw", "raw"]
    knn, spage = summary.iloc[0], summary.iloc[1]
    assert knn["status"] == "ok" and knn["acc"] == 1.0  # the only method that ran ranks first
    normalized = per_gene[per_gene["scoring"] == "normalized"]
    assert knn["median_pcc"] == pytest.approx(normalized["pcc"].median())
    assert -1 <= knn["domain_ari"] <= 1 and -1 <= knn["cell_pcc"] <= 1 and -1 <= knn["moran_spearman"] <= 1
    assert spage["status"].startswith("TypeError") and np.isnan(spage["median_pcc"]) and np.isnan(spage["acc"])
    # knn is a floor, so it is nobody's best peer
    assert best_peer(summary, "merfish") is None


def test_floors_and_gene_wins_compare_methods_on_the_normalized_scoring():
    per_gene = pd.DataFrame({
        "dataset": "d", "scoring": "normalized", "gene": ["a", "b", "c", "d"] * 4,
        "method": ["spaim"] * 4 + ["tangram"] * 4 + ["gimvi"] * 4 + ["knn"] * 4,
        "pcc": [0.5, 0.5, 0.1, 0.9] + [0.4, 0.6, 0.2, 0.1] + [0.3, 0.1, 0.0, 0.95] + [0.45] * 4,
    })
    wins = gene_wins(per_gene).iloc[0]
    assert wins["best_peer"] == "tangram" and wins["wins_vs_best_peer"] == 0.5
    assert wins["wins_vs_every_peer"] == 0.25  # gene a only: b loses to tangram, c to both, d to gimvi
    summary = pd.DataFrame({
        "dataset": "d", "scoring": "normalized", "status": "ok", "method": ["spaim", "tangram", "knn", "libsize"],
        "median_pcc": [0.5, 0.2, 0.3, 0.0],
    })
    marks = below_floors(summary).set_index("method")["below"]
    assert marks["spaim"] == "" and marks["tangram"] == "knn"


def test_report_names_methods_settings_figures_and_failures(tables, tmp_path):
    _, _, summary = tables
    path = tmp_path / "report.md"
    write_report(path, summary, {"merfish": ["boxplots_merfish.png"]}, "spaim benchmark ...", folds=3, seed=0)
    text = path.read_text()
    assert "3 folds" in text and "![boxplots_merfish](boxplots_merfish.png)" in text
    assert "k=20 neighbours" in text  # the kNN settings column
    assert "merfish / spage: TypeError" in text


def test_per_gene_table_of_nothing_has_the_columns():
    assert list(per_gene_table([])) == ["dataset", "method", "scoring", "fold", "gene", "pcc", "ssim", "rmse", "js"]
    assert isinstance(per_gene_table([]), pd.DataFrame)
