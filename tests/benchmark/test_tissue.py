import numpy as np
import pytest

from spaim.benchmark.inputs import build_inputs
from spaim.benchmark.methods import method_class

from ._smoke import predicts_held_out_genes


def test_tissue_predicts_every_held_out_gene(pair):
    pytest.importorskip("tissue.main", reason="tissue-sc is not installed (benchmark extra, see benchmarks/README.md)")
    predicts_held_out_genes("tissue", pair)


def test_tissue_keeps_intervals_around_its_prediction(pair):
    pytest.importorskip("tissue.main", reason="tissue-sc is not installed (benchmark extra, see benchmarks/README.md)")
    st, sc = pair
    inputs = build_inputs(st[:150].copy(), sc[:200].copy())
    fold = inputs.folds(3, seed=0)[1]
    method = method_class("tissue")(seed=0)
    predicted = method.predict(inputs, fold)
    lower, upper = method.intervals[fold.index]
    assert lower.shape == upper.shape == predicted.shape
    assert np.all(lower <= predicted + 1e-6) and np.all(predicted <= upper + 1e-6)
    assert np.mean(upper - lower) > 0
