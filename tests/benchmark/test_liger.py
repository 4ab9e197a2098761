import pytest

from ._smoke import predicts_held_out_genes


def test_liger_predicts_every_held_out_gene(pair):
    pytest.importorskip("pyliger", reason="pyliger is not installed (benchmark extra, see benchmarks/README.md)")
    predicts_held_out_genes("liger", pair)
