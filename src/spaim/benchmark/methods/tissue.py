"""TISSUE (Sun et al., Nat. Biotechnol. 2024) through its package ``tissue-sc``: a base prediction plus conformal intervals."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, require
from spaim.errors import SpaIMInputError

PREDICTED = "spage_predicted_expression"


class TissueMethod(Method):
    """TISSUE's point prediction; its 67% prediction intervals go to :attr:`intervals` (cached with each fold)."""

    name = "tissue"
    output_scale = "log_normalized"
    preprocessing = Preprocessing(
        takes="SC normalize_total + log1p (preprocess_data(normalize=True)); ST raw counts and coordinates, as in TISSUE's tutorial; "
        "training genes constant on either side left out (SpaGE z-scores genes)",
        returns="SpaGE's prediction (TISSUE's copy) from the SC log-normalised reference; intervals calibrated against the ST values",
        to_log1p="as returned (the base's log-normalised scale)",
    )
    settings = (
        "predict_gene_expression(method='spage', n_folds=10, n_pv=10); build_spatial_graph(method='fixed_radius', "
        "n_neighbors=15); conformalize_spatial_uncertainty(calib_genes=training genes, grouping_method='kmeans_gene_cell', "
        "k=4, k2=2); conformalize_prediction_interval(alpha_level=0.23): TISSUE's tutorial"
    )

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        if "spatial" not in inputs.st.obsm:
            raise SpaIMInputError("TISSUE needs ST coordinates (obsm['spatial'] or obs x/y columns).")
        tissue = require("tissue.main", "tissue-sc")
        st, sc, test = peer_pair(inputs, fold)
        tissue.preprocess_data(sc, standardize=False, normalize=True)
        np.random.seed(self.seed)
        tissue.predict_gene_expression(st, sc, test, method="spage", n_folds=10, n_pv=10)
        tissue.build_spatial_graph(st, method="fixed_radius", n_neighbors=15)
        calib = list(st.var_names)
        tissue.conformalize_spatial_uncertainty(st, PREDICTED, calib_genes=calib, grouping_method="kmeans_gene_cell", k=4, k2=2)
        tissue.conformalize_prediction_interval(st, PREDICTED, calib_genes=calib, alpha_level=0.23)
        lower, upper = (st.obsm[f"{PREDICTED}_{end}"][test].to_numpy(np.float32) for end in ("lo", "hi"))
        self.intervals[fold.index] = (lower, upper)
        return st.obsm[PREDICTED][test].to_numpy(np.float32)


def peer_pair(inputs: BenchmarkInputs, fold: Fold) -> tuple[ad.AnnData, ad.AnnData, list[str]]:
    """Fresh ST (informative training genes, counts, coordinates) and SC (all genes, counts) objects.

    Training genes constant across the ST cells or the SC cells are left out: SpaGE, the base
    of TISSUE and SPRITE, z-scores each shared gene, which is undefined for them. Genes get
    neutral lowercase names (``gene0``, ...): both tools lowercase names in place, which could
    merge genes differing only in case. Returns the two objects and the held-out genes' names.
    """
    names = np.array([f"gene{i}" for i in range(inputs.sc.n_vars)])
    position = inputs.sc.var_names.get_indexer(inputs.genes)
    st_x = _dense(inputs.st.X[:, fold.train])
    sc_x = _dense(inputs.sc.X)
    informative = (st_x.std(axis=0) > 0) & (sc_x[:, position[fold.train]].std(axis=0) > 0)
    st = ad.AnnData(
        X=st_x[:, informative],
        obs=pd.DataFrame(index=inputs.st.obs_names),
        var=pd.DataFrame(index=pd.Index(names[position[fold.train][informative]])),
    )
    st.obsm["spatial"] = np.asarray(inputs.st.obsm["spatial"], dtype=float)[:, :2]
    sc = ad.AnnData(X=sc_x, obs=pd.DataFrame(index=inputs.sc.obs_names), var=pd.DataFrame(index=pd.Index(names)))
    return st, sc, list(names[position[fold.test]])


def _dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float64)
