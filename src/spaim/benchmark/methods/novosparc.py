"""novoSpaRc (Nitzan et al., Nature 2019) in atlas mode, through its package ``novosparc``."""

from __future__ import annotations

import contextlib
import io

import anndata as ad
import numpy as np
import pandas as pd

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

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        novosparc = require("novosparc", "novosparc")
        if "spatial" not in inputs.st.obsm:
            raise SpaIMInputError("novoSpaRc needs ST coordinates (obsm['spatial'] or obs x/y columns).")
        train, test = [inputs.genes[i] for i in fold.train], inputs.test_genes(fold)
        genes = train + test
        sc = ad.AnnData(
            X=log_normalized(inputs.sc.X)[:, inputs.sc.var_names.get_indexer(genes)],
            var=pd.DataFrame(index=pd.Index(genes, dtype=str)),
        )
        atlas = log_normalized(inputs.st.X)[:, fold.train]
        tissue = novosparc.cm.Tissue(dataset=sc, locations=np.asarray(inputs.st.obsm["spatial"], dtype=float)[:, :2])
        # novoSpaRc prints every epsilon it tries; keep the benchmark's output readable.
        with contextlib.redirect_stdout(io.StringIO()):
            tissue.setup_reconstruction(atlas_matrix=atlas, markers_to_use=np.arange(len(train)), num_neighbors_s=5, num_neighbors_t=5, verbose=False)
            tissue.reconstruct(alpha_linear=self.options.get("alpha_linear", 0.8), epsilon=self.options.get("epsilon", 5e-3), verbose=False)
        return np.asarray(tissue.sdge[len(train):].T, dtype=np.float32)
