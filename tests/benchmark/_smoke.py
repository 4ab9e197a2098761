"""The smoke check every peer adapter passes on a tiny real pair."""

from __future__ import annotations

import numpy as np

from spaim.benchmark.inputs import build_inputs
from spaim.benchmark.methods import method_class
from spaim.metrics import pcc


def predicts_held_out_genes(name: str, pair, **options) -> np.ndarray:
    """Run method ``name`` on one fold of 150 ST x 200 SC cells; check shape, finiteness and signal."""
    st, sc = pair
    inputs = build_inputs(st[:150].copy(), sc[:200].copy())
    fold = inputs.folds(3, seed=0)[0]
    method = method_class(name)(seed=0, **options)
    predicted = method.predict(inputs, fold)
    measured = inputs.measured(fold)
    assert predicted.shape == measured.shape
    assert np.isfinite(predicted).all()
    # Better than chance on the typical held-out gene: the prediction carries signal.
    assert np.nanmedian([pcc(measured[:, j], predicted[:, j]) for j in range(measured.shape[1])]) > 0
    assert method.output_scale in {"counts", "log_normalized"}
    return predicted
