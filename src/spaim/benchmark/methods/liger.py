"""LIGER (Welch et al., Cell 2019) through ``pyliger``: integrative NMF, then kNN imputation.

pyliger 0.2.4 ships no ``imputeKNN`` (it is a stub), so its last step is done here as
rliger's ``imputeKNN`` does it: each ST cell takes the average of the raw counts of its
``knn_k`` nearest SC cells in the quantile-normalised factor space, weighted by
``exp(-distance)``. Settings are those of Li et al.'s ``Codes/Impute/LIGER.r``, which also
replaces the normalised data by the raw counts before gene selection and scaling.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, require


class LigerMethod(Method):
    name = "liger"
    # An average of SC cells' counts: the SC cells' depth, not the ST cell's, so not re-normalised per ST cell.
    output_scale = "log_normalized"
    preprocessing = Preprocessing(
        takes="raw counts on each side (SC cells with no training-gene counts dropped), unnormalised as in LIGER.r",
        returns="SC raw counts averaged over each ST cell's 30 nearest SC cells in the aligned factor space (a count scale, the SC cells')",
        to_log1p="log1p of the averaged SC counts (no ST-cell depth in them)",
    )
    settings = (
        "pyliger create_liger, normalize then norm_data := raw counts, select_genes() (minus genes with no counts on one side), "
        "scale_not_center, "
        "optimize_ALS(k=min(20, n_var_genes - 3), value_lambda=20), quantile_norm(); imputeKNN(knn_k=30, weight=True, "
        "norm=False, scale=False) re-implemented as rliger's; as in Li et al. 2022's LIGER.r"
    )

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        pyliger = require("pyliger", "pyliger")
        train = [inputs.genes[i] for i in fold.train]
        sc_counts = sp.csr_matrix(inputs.sc.X, dtype=np.float64)
        sc_train = sc_counts[:, inputs.sc.var_names.get_indexer(train)]
        used = np.flatnonzero(np.asarray(sc_train.sum(axis=1)).ravel() > 0)  # LIGER.r's RemoveCells
        rna = _liger_adata(sc_train[used], inputs.sc.obs_names[used], train, "rna")
        spatial = _liger_adata(sp.csr_matrix(inputs.st.X[:, fold.train], dtype=np.float64), inputs.st.obs_names, train, "spatial")
        # make_sparse=False: the inputs are CSR already, and pyliger's own conversion casts them to int.
        liger = pyliger.create_liger([rna, spatial], make_sparse=False, remove_missing=False)
        pyliger.normalize(liger, remove_missing=False)
        for data in liger.adata_list:
            _use_raw_as_normalised(data)
        pyliger.select_genes(liger)
        # A selected gene with no counts in one dataset would be scaled by 1/0 there (NaNs in the NMF).
        liger.var_genes = [g for g in liger.var_genes if all(data.var.loc[g, "norm_sum"] > 0 for data in liger.adata_list)]
        pyliger.scale_not_center(liger)
        k = min(20, len(liger.var_genes) - 3)
        pyliger.optimize_ALS(liger, k=k, value_lambda=20, rand_seed=self.seed + 1)
        pyliger.quantile_norm(liger, rand_seed=self.seed + 1)
        reference, query = (data.obsm["H_norm"] for data in liger.adata_list)
        distances, neighbours = NearestNeighbors(n_neighbors=min(30, len(reference))).fit(reference).kneighbors(query)
        weights = np.exp(-distances)
        weights /= weights.sum(axis=1, keepdims=True)
        test_counts = sc_counts[used][:, inputs.sc.var_names.get_indexer(inputs.test_genes(fold))].toarray()
        imputed = np.einsum("ck,ckg->cg", weights, test_counts[neighbours])
        # Li et al. 2022 (LIGER.r) score the averaged counts as they are; the benchmark's scorings take log1p.
        return (imputed if self.options.get("protocol") == "li2022" else np.log1p(imputed)).astype(np.float32)


def _liger_adata(x: sp.csr_matrix, cells: pd.Index, genes: list[str], name: str) -> ad.AnnData:
    data = ad.AnnData(
        X=x, obs=pd.DataFrame(index=pd.Index(cells, dtype=str, name="cell")), var=pd.DataFrame(index=pd.Index(genes, dtype=str, name="gene"))
    )
    data.uns["sample_name"] = name
    return data


def _use_raw_as_normalised(data: ad.AnnData) -> None:
    """LIGER.r's ``norm.data <- raw.data``, with the per-gene sums pyliger derives from the normalised data."""
    raw = sp.csr_matrix(data.X)
    data.layers["norm_data"] = raw
    data.var["norm_sum"] = np.asarray(raw.sum(axis=0)).ravel()
    data.var["norm_sum_sq"] = np.asarray(raw.power(2).sum(axis=0)).ravel()
    data.var["norm_mean"] = data.var["norm_sum"] / data.n_obs
