import numpy as np
import pytest

from ._smoke import predicts_held_out_genes


def test_liger_predicts_every_held_out_gene(pair):
    pytest.importorskip("pyliger", reason="pyliger is not installed (benchmark extra, see benchmarks/README.md)")
    predicts_held_out_genes("liger", pair)


def test_liger_under_li2022_returns_the_averaged_counts_unlogged(pair):
    pytest.importorskip("pyliger", reason="pyliger is not installed (benchmark extra, see benchmarks/README.md)")
    logged = predicts_held_out_genes("liger", pair)
    counts = predicts_held_out_genes("liger", pair, protocol="li2022")
    np.testing.assert_allclose(counts, np.expm1(logged), rtol=1e-4, atol=1e-5)
