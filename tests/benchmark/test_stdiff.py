import pytest

from spaim.benchmark.inputs import build_inputs
from spaim.benchmark.methods import method_class

from ._smoke import predicts_held_out_genes


def test_stdiff_predicts_every_held_out_gene(pair):
    pytest.importorskip("torch")
    from spaim.benchmark.methods.stdiff import import_stdiff

    try:
        import_stdiff()
    except ImportError as exc:
        pytest.skip(str(exc))
    # A short run on CPU: the smoke test checks the plumbing, not stDiff's accuracy at its defaults.
    predicts_held_out_genes("stdiff", pair, epochs=20, diffusion_steps=50, allow_cpu=True)


def test_stdiff_is_not_run_on_cpu_at_its_defaults(pair):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is available: stDiff runs")
    st, sc = pair
    inputs = build_inputs(st[:50].copy(), sc[:50].copy())
    with pytest.raises(RuntimeError, match="not run on CPU"):
        method_class("stdiff")(seed=0).predict(inputs, inputs.folds(3, seed=0)[0])
