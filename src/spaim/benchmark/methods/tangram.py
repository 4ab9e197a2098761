"""Tangram (Biancalani et al., Nat. Methods 2021) through its package ``tangram-sc``."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, log_normalized, require


class TangramMethod(Method):
    name = "tangram"
    preprocessing = Preprocessing(
        takes="library-size normalised log1p on each side",
        returns="SC normalised log1p projected by the cell-to-spot mapping (a weighted sum over SC cells)",
        to_log1p="as returned (a log scale; the metrics are insensitive to a per-gene factor)",
    )
    settings = "map_cells_to_space(mode='cells', density_prior='rna_count_based', learning_rate=0.1, num_epochs=1000: the package defaults), then project_genes, as in the Tangram tutorial"

    def setup(self, inputs: BenchmarkInputs) -> None:
        if self.options.get("mode", "cells") == "clusters":
            self._clusters = _leiden(log_normalized(inputs.sc.X), self.seed)

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        tg = require("tangram", "tangram-sc")
        train, test = [inputs.genes[i] for i in fold.train], inputs.test_genes(fold)
        # Fresh objects: Tangram lowercases and filters the genes of its inputs in place.
        sc = _frame_adata(log_normalized(inputs.sc.X)[:, inputs.sc.var_names.get_indexer(train + test)], inputs.sc.obs_names, train + test)
        if self.options.get("protocol") == "li2022":
            # Li et al. 2022 (SpatialGenes.py) give Tangram the ST raw counts of the whole panel,
            # held-out genes included: only the training genes are mapped, but the
            # rna_count_based density prior sums every gene of the ST object.
            st = _frame_adata(np.asarray(inputs.st.X, dtype=np.float32), inputs.st.obs_names, inputs.genes)
        else:
            st = _frame_adata(log_normalized(inputs.st.X[:, fold.train]), inputs.st.obs_names, train)
        tg.pp_adatas(sc, st, genes=train)
        mode = self.options.get("mode", "cells")
        label = None
        if mode == "clusters":
            sc.obs["leiden"] = self._clusters
            label = "leiden"
        mapping = tg.map_cells_to_space(
            sc, st, mode=mode, cluster_label=label, density_prior="rna_count_based", num_epochs=self.options.get("epochs", 1000),
            device="cpu", random_state=self.seed, verbose=False,
        )
        projected = tg.project_genes(mapping, sc, cluster_label=label)
        values = pd.DataFrame(np.asarray(projected.X), columns=projected.var_names)
        # Genes Tangram dropped (all zero in SC) come back as NaN, which scores as the worst value.
        return values.reindex(columns=[g.lower() for g in test]).to_numpy(np.float32)


def _frame_adata(x: np.ndarray, cells: pd.Index, genes: list[str]) -> ad.AnnData:
    return ad.AnnData(X=x, obs=pd.DataFrame(index=cells.astype(str)), var=pd.DataFrame(index=pd.Index(genes, dtype=str)))


def _leiden(x: np.ndarray, seed: int) -> pd.Categorical:
    """Leiden clusters of the SC cells as Li et al. 2022 make them for Tangram's clusters mode."""
    import scanpy

    adata = ad.AnnData(X=x.copy())
    scanpy.pp.highly_variable_genes(adata)
    adata = adata[:, adata.var["highly_variable"]].copy()
    scanpy.pp.scale(adata, max_value=10)
    scanpy.tl.pca(adata, random_state=seed)
    scanpy.pp.neighbors(adata, random_state=seed)
    scanpy.tl.leiden(adata, resolution=0.5, random_state=seed)
    return pd.Categorical(adata.obs["leiden"].to_numpy())
