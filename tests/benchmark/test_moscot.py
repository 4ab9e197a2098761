import pytest

from ._smoke import predicts_held_out_genes


def test_moscot_predicts_every_held_out_gene(pair):
    pytest.importorskip("moscot", reason="moscot is not installed (benchmark extra, see benchmarks/README.md)")
    predicts_held_out_genes("moscot", pair)
