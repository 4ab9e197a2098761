import pytest

from spaim.benchmark.methods.envi import import_scenvi

from ._smoke import predicts_held_out_genes


def test_envi_predicts_every_held_out_gene(pair):
    try:
        import_scenvi()
    except ImportError as exc:
        pytest.skip(str(exc))
    # A short training run: the smoke test checks the plumbing, not ENVI's accuracy at its defaults.
    predicts_held_out_genes("envi", pair, training_steps=200)
