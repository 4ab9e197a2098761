import pytest

from spaim.benchmark.methods.spaotsc import import_spaotsc

from ._smoke import predicts_held_out_genes


def test_spaotsc_predicts_every_held_out_gene(pair):
    try:
        import_spaotsc()
    except ImportError as exc:
        pytest.skip(str(exc))
    predicts_held_out_genes("spaotsc", pair)
