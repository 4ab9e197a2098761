import numpy as np
import pytest

from spaim.benchmark.methods.spaotsc import import_spaotsc

from ._smoke import predicts_held_out_genes


@pytest.fixture
def spaotsc():
    try:
        import_spaotsc()
    except ImportError as exc:
        pytest.skip(str(exc))


def test_spaotsc_predicts_every_held_out_gene(pair, spaotsc):
    predicts_held_out_genes("spaotsc", pair)


def test_spaotsc_under_li2022_averages_raw_counts_with_the_same_plan(pair, spaotsc):
    # Spearman ranks within a cell, so normalising does not move the plan: only the averaged values change.
    logged = predicts_held_out_genes("spaotsc", pair)
    counts = predicts_held_out_genes("spaotsc", pair, protocol="li2022")
    assert not np.allclose(counts, logged)
    assert counts.max() > logged.max()  # counts, not log1p values
