"""The kNN baseline of :mod:`spaim.baselines`."""

from __future__ import annotations

import numpy as np

from spaim.baselines import knn_impute
from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, log_normalized


class KNNMethod(Method):
    name = "knn"
    preprocessing = Preprocessing(
        takes="library-size normalised log1p on each side, z-scored per gene",
        returns="mean normalised log1p of the 20 nearest SC cells",
        to_log1p="as returned",
    )
    settings = "k=20 neighbours in 30 PCA components of the z-scored training genes"

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        sc_index = inputs.sc.var_names.get_indexer
        sc_norm = log_normalized(inputs.sc.X)
        train, test = [inputs.genes[i] for i in fold.train], inputs.test_genes(fold)
        return knn_impute(
            log_normalized(inputs.st.X[:, fold.train]),
            sc_norm[:, sc_index(train)],
            sc_norm[:, sc_index(test)],
            seed=self.seed,
            **self.options,
        )
