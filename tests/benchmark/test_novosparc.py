import numpy as np
import pytest

from spaim.benchmark.inputs import build_inputs
from spaim.benchmark.methods import method_class
from spaim.metrics import pcc


def test_novosparc_predicts_every_held_out_gene(pair):
    pytest.importorskip("novosparc")
    st, sc = pair
    inputs = build_inputs(st[:150].copy(), sc[:200].copy())
    fold = inputs.folds(3, seed=0)[0]
    predicted = method_class("novosparc")(seed=0).predict(inputs, fold)
    measured = inputs.measured(fold)
    assert predicted.shape == measured.shape and np.isfinite(predicted).all()
    assert np.median([pcc(measured[:, j], predicted[:, j]) for j in range(measured.shape[1])]) > 0
