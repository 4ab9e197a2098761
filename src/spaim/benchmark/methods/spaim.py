"""SpaIM itself, with the package defaults, through the core cross-validation predictor."""

from __future__ import annotations

import numpy as np

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing
from spaim.crossval import spaim_predictor
from spaim.pairing import prepare_pair


class SpaIMMethod(Method):
    name = "spaim"
    preprocessing = Preprocessing(
        takes="raw counts (log1p inside; SC cluster means of log1p)",
        returns="log1p of counts",
        to_log1p="as returned",
    )
    settings = "package defaults (Leiden clusters, cluster means, LayerNorm, widths 512/256, up to 300 epochs, early stopping on 10% of the training genes)"

    def setup(self, inputs: BenchmarkInputs) -> None:
        # Clustering uses the SC cells only, so it is done once for all folds.
        self._data = prepare_pair(inputs.st, inputs.sc, allow_non_integer=inputs.allow_non_integer, seed=self.seed)
        self._predict = spaim_predictor(seed=self.seed, progress=False, **self.options)

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        return self._predict(self._data, fold.train, fold.test)
