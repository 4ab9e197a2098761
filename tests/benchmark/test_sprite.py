import pytest

from spaim.benchmark.methods.peer_source import import_from_source

from ._smoke import predicts_held_out_genes


def test_sprite_predicts_every_held_out_gene(pair):
    try:
        import_from_source("sprite.sprite", "SPRITE")
    except ImportError as exc:
        pytest.skip(str(exc))
    predicts_held_out_genes("sprite", pair)
