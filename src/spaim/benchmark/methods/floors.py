"""Floors: trivial predictors that every method must beat for its score to mean anything.

- ``libsize``: every held-out gene gets the cell's log1p total count over the training
  genes. It scores well on raw log1p counts, where depth dominates, and near 0 once
  library size is taken out.
- ``gene_mean``: the gene's mean in the SC reference, the same in every cell.
- ``cluster_transfer``: each ST cell soft-assigned to the SC clusters by correlation over
  the training genes; held-out genes as the weighted mean of the cluster profiles
  (:func:`spaim.baselines.cluster_transfer_impute`).
"""

from __future__ import annotations

import numpy as np

from spaim.baselines import cluster_transfer_impute
from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, log_normalized
from spaim.cell_basis import TEMPERATURES
from spaim.pairing import prepare_pair
from spaim.preprocessing import log1p_dense, size_factors


class LibrarySizeFloor(Method):
    name = "libsize"
    preprocessing = Preprocessing(
        takes="ST raw counts of the training genes",
        returns="log1p of each cell's total count over the training genes, for every held-out gene",
        to_log1p="as returned (count scale: the normalised scoring divides out each cell's depth)",
    )
    settings = "no parameters"
    output_scale = "counts"

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        totals = np.asarray(inputs.st.X[:, fold.train].sum(axis=1), dtype=np.float64).ravel()
        return np.repeat(np.log1p(totals)[:, None], len(fold.test), axis=1).astype(np.float32)


class GeneMeanFloor(Method):
    name = "gene_mean"
    preprocessing = Preprocessing(
        takes="SC counts, library-size normalised log1p",
        returns="the gene's SC mean, the same in every ST cell",
        to_log1p="as returned",
    )
    settings = "no parameters"

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        sc = inputs.sc.X[:, inputs.sc.var_names.get_indexer(inputs.test_genes(fold))]
        means = log1p_dense(sc, size_factors(inputs.sc.X)).mean(axis=0)
        return np.repeat(means[None, :], inputs.st.n_obs, axis=0).astype(np.float32)


class ClusterTransferFloor(Method):
    name = "cluster_transfer"
    preprocessing = Preprocessing(
        takes="library-size normalised log1p on each side; SC Leiden clusters (SpaIM's reference)",
        returns="soft mixture of SC cluster means (normalised log1p)",
        to_log1p="as returned",
    )
    settings = (
        f"softmax temperature chosen per fold among {list(TEMPERATURES)} by median PCC on 20% of the training genes; "
        "clusters: Leiden, resolution 1, on the standard scanpy route"
    )

    def setup(self, inputs: BenchmarkInputs) -> None:
        # SpaIM's own SC reference (same Leiden clusters), normalised before log1p.
        self._reference = prepare_pair(
            inputs.st, inputs.sc, allow_non_integer=inputs.allow_non_integer, normalize=True, seed=self.seed
        ).reference

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        train, test = [inputs.genes[i] for i in fold.train], inputs.test_genes(fold)
        st_log = log_normalized(inputs.st.X[:, fold.train])
        prediction, _ = cluster_transfer_impute(
            st_log, self._reference.profiles_of(train), self._reference.profiles_of(test), seed=self.seed, **self.options
        )
        return prediction
