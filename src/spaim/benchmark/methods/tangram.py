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

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        tg = require("tangram", "tangram-sc")
        train, test = [inputs.genes[i] for i in fold.train], inputs.test_genes(fold)
        # Fresh objects: Tangram lowercases and filters the genes of its inputs in place.
        sc = _frame_adata(log_normalized(inputs.sc.X)[:, inputs.sc.var_names.get_indexer(train + test)], inputs.sc.obs_names, train + test)
        st = _frame_adata(log_normalized(inputs.st.X[:, fold.train]), inputs.st.obs_names, train)
        tg.pp_adatas(sc, st, genes=train)
        mapping = tg.map_cells_to_space(
            sc, st, mode="cells", density_prior="rna_count_based", num_epochs=self.options.get("epochs", 1000),
            device="cpu", random_state=self.seed, verbose=False,
        )
        projected = tg.project_genes(mapping, sc)
        values = pd.DataFrame(np.asarray(projected.X), columns=projected.var_names)
        # Genes Tangram dropped (all zero in SC) come back as NaN, which scores as the worst value.
        return values.reindex(columns=[g.lower() for g in test]).to_numpy(np.float32)


def _frame_adata(x: np.ndarray, cells: pd.Index, genes: list[str]) -> ad.AnnData:
    return ad.AnnData(X=x, obs=pd.DataFrame(index=cells.astype(str)), var=pd.DataFrame(index=pd.Index(genes, dtype=str)))
