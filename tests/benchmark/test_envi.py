import pytest

from ._smoke import predicts_held_out_genes


def test_envi_predicts_every_held_out_gene(pair):
    pytest.importorskip("scenvi", reason="scenvi is not installed (benchmark extra, see benchmarks/README.md)")
    # A short training run: the smoke test checks the plumbing, not ENVI's accuracy at its defaults.
    predicts_held_out_genes("envi", pair, training_steps=200)
