"""The kNN baseline of :mod:`spaim.baselines`."""

from __future__ import annotations

import numpy as np

from spaim.baselines import knn_impute
from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, log1p


class KNNMethod(Method):
    name = "knn"
    preprocessing = Preprocessing(
        takes="log1p of counts, z-scored per gene",
        returns="mean log1p of the 20 nearest SC cells",
        to_log1p="as returned",
    )
    settings = "k=20 neighbours in 30 PCA components of the z-scored training genes"

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        sc_index = inputs.sc.var_names.get_indexer
        sc_counts = inputs.sc.X
        train, test = [inputs.genes[i] for i in fold.train], inputs.test_genes(fold)
        return knn_impute(
            log1p(inputs.st.X[:, fold.train]),
            log1p(sc_counts[:, sc_index(train)]),
            log1p(sc_counts[:, sc_index(test)]),
            seed=self.seed,
            **self.options,
        )
