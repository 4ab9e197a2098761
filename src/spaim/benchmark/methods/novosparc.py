"""novoSpaRc (Nitzan et al., Nature 2019) in atlas mode, through its package ``novosparc``."""

from __future__ import annotations

import contextlib
import io

import anndata as ad
import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, log_normalized, require
from spaim.errors import SpaIMInputError


class NovoSpaRcMethod(Method):
    name = "novosparc"
    preprocessing = Preprocessing(
        takes="library-size normalised log1p on each side; ST coordinates",
        returns="SC normalised log1p transported to the ST locations (dge.T @ coupling)",
        to_log1p="as returned (a log scale; the metrics are insensitive to a per-gene factor)",
    )
    settings = (
        "Tissue(dataset=SC, locations=ST coordinates, atlas=ST training genes), setup_reconstruction(num_neighbors_s=5, "
        "num_neighbors_t=5), reconstruct(alpha_linear=0.8, epsilon=5e-3), as in the novoSpaRc atlas tutorial"
    )

    def setup(self, inputs: BenchmarkInputs) -> None:
        if self.options.get("protocol") == "li2022":
            self._li2022_costs = _li2022_costs(inputs)

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        novosparc = require("novosparc", "novosparc")
        locations = _locations(inputs)
        if self.options.get("protocol") == "li2022":
            return _li2022_predict(inputs, fold, *self._li2022_costs)
        train, test = [inputs.genes[i] for i in fold.train], inputs.test_genes(fold)
        genes = train + test
        sc = ad.AnnData(
            X=log_normalized(inputs.sc.X)[:, inputs.sc.var_names.get_indexer(genes)],
            var=pd.DataFrame(index=pd.Index(genes, dtype=str)),
        )
        atlas = log_normalized(inputs.st.X)[:, fold.train]
        tissue = novosparc.cm.Tissue(dataset=sc, locations=locations)
        # novoSpaRc prints every epsilon it tries; keep the benchmark's output readable.
        with contextlib.redirect_stdout(io.StringIO()):
            tissue.setup_reconstruction(atlas_matrix=atlas, markers_to_use=np.arange(len(train)), num_neighbors_s=5, num_neighbors_t=5, verbose=False)
            tissue.reconstruct(alpha_linear=self.options.get("alpha_linear", 0.8), epsilon=self.options.get("epsilon", 5e-3), verbose=False)
        return np.asarray(tissue.sdge[len(train):].T, dtype=np.float32)


def _locations(inputs: BenchmarkInputs) -> np.ndarray:
    if "spatial" not in inputs.st.obsm:
        raise SpaIMInputError("novoSpaRc needs ST coordinates (obsm['spatial'] or obs x/y columns).")
    return np.asarray(inputs.st.obsm["spatial"], dtype=float)[:, :2]


def _li2022_costs(inputs: BenchmarkInputs) -> tuple[np.ndarray, np.ndarray]:
    """Expression and location costs as Li et al. 2022 set them up (fold-independent, so computed once).

    Raw SC counts, the 2000 genes of highest variance / (mean + 1e-4), 5 neighbours each side.
    """
    novosparc = require("novosparc", "novosparc")
    dge = _dense(inputs.sc.X)
    dispersed = np.argsort(dge.var(axis=0) / (dge.mean(axis=0) + 0.0001))[-2000:]
    with contextlib.redirect_stdout(io.StringIO()):
        return novosparc.rc.setup_for_OT_reconstruction(
            dge[:, dispersed], _locations(inputs), num_neighbors_source=5, num_neighbors_target=5
        )


def _li2022_predict(inputs: BenchmarkInputs, fold: Fold, cost_expression: np.ndarray, cost_locations: np.ndarray) -> np.ndarray:
    """Their novoSpaRc_impute: raw counts, max-scaled marker cost, alpha_linear 0.5, ``dge.T @ coupling``."""
    novosparc = require("novosparc", "novosparc")
    dge = _dense(inputs.sc.X)
    markers = dge[:, inputs.sc.var_names.get_indexer([inputs.genes[i] for i in fold.train])]
    insitu = _dense(inputs.st.X[:, fold.train])
    cost_markers = cdist(markers / markers.max(), insitu / insitu.max())
    p_locations, p_expression = novosparc.rc.create_space_distributions(inputs.st.n_obs, inputs.sc.n_obs)
    with contextlib.redirect_stdout(io.StringIO()):
        coupling = novosparc.rc.gromov_wasserstein_adjusted_norm(
            cost_markers, cost_expression, cost_locations, 0.5, p_expression, p_locations, "square_loss", epsilon=5e-3, verbose=False
        )
    test = inputs.sc.var_names.get_indexer(inputs.test_genes(fold))
    return (dge[:, test].T @ coupling).T.astype(np.float32)


def _dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float64)
