"""moscot (Klein et al., Nature 2025): the spatial ``MappingProblem`` (fused Gromov-Wasserstein) and its ``impute``."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, log_normalized, require
from spaim.errors import SpaIMInputError


class MoscotMethod(Method):
    name = "moscot"
    output_scale = "log_normalized"
    preprocessing = Preprocessing(
        takes="library-size normalised log1p on each side; ST coordinates",
        returns="SC normalised log1p pulled through the coupling (impute(), scaled by the marginals)",
        to_log1p="as returned (a log-normalised scale)",
    )
    settings = (
        "MappingProblem(adata_sc, adata_sp).prepare(sc_attr=X_pca of the SC (scanpy pca defaults), spatial_key='spatial', "
        "var_names=training genes, xy_callback='local-pca'); solve() at its defaults (alpha=0.5, epsilon=1e-2, "
        "tau_a=tau_b=1, rank=-1); impute(): moscot's spatial-mapping tutorial"
    )

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        if "spatial" not in inputs.st.obsm:
            raise SpaIMInputError("moscot needs ST coordinates (obsm['spatial'] or obs x/y columns).")
        require("moscot", "moscot")
        import scanpy as sc
        from moscot.problems.space import MappingProblem

        train, test = [inputs.genes[i] for i in fold.train], inputs.test_genes(fold)
        genes = train + test
        adata_sc = ad.AnnData(
            X=log_normalized(inputs.sc.X)[:, inputs.sc.var_names.get_indexer(genes)],
            obs=pd.DataFrame(index=inputs.sc.obs_names),
            var=pd.DataFrame(index=pd.Index(genes, dtype=str)),
        )
        sc.pp.pca(adata_sc, random_state=self.seed)
        adata_sp = ad.AnnData(
            X=log_normalized(inputs.st.X[:, fold.train]),
            obs=pd.DataFrame(index=inputs.st.obs_names),
            var=pd.DataFrame(index=pd.Index(train, dtype=str)),
        )
        adata_sp.obsm["spatial"] = np.asarray(inputs.st.obsm["spatial"], dtype=float)[:, :2]
        problem = MappingProblem(adata_sc=adata_sc, adata_sp=adata_sp)
        problem = problem.prepare(sc_attr={"attr": "obsm", "key": "X_pca"}, var_names=train, xy_callback="local-pca")
        problem = problem.solve(device="cpu")
        return np.asarray(problem.impute(var_names=test).X, dtype=np.float32)
