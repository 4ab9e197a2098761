import pytest

from ._smoke import predicts_held_out_genes


def test_stdiff_predicts_every_held_out_gene(pair):
    pytest.importorskip("einops", reason="stdiff-sc's einops is not installed (see benchmarks/README.md)")
    pytest.importorskip("model.stDiff_model", reason="stdiff-sc is not installed (--no-deps, see benchmarks/README.md)")
    # A short run: the smoke test checks the plumbing, not stDiff's accuracy at its defaults.
    predicts_held_out_genes("stdiff", pair, epochs=20, diffusion_steps=50)
