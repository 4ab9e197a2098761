"""gimVI (Lopez et al., 2019) through ``scvi-tools`` (``scvi.external.GIMVI``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, require


class GimVIMethod(Method):
    name = "gimvi"
    preprocessing = Preprocessing(
        takes="raw counts on each side (SC restricted to the shared genes)",
        returns="expected counts of the ST cells (get_imputed_values(normalized=False))",
        to_log1p="log1p of the expected counts",
    )
    output_scale = "counts"
    settings = "GIMVI defaults (generative distributions zinb for SC, nb for ST, n_latent=10), 200 epochs, as in the scvi-tools tutorial"

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        scvi = require("scvi", "scvi-tools")
        scvi.settings.seed = self.seed
        sc = inputs.sc[:, inputs.genes].copy()  # the spatial genes must be a subset of the reference's
        st = inputs.st_train(fold)
        st.obs = pd.DataFrame(index=st.obs_names)
        sc.obs = pd.DataFrame(index=sc.obs_names)
        scvi.external.GIMVI.setup_anndata(sc)
        scvi.external.GIMVI.setup_anndata(st)
        model = scvi.external.GIMVI(sc, st)
        model.train(max_epochs=self.options.get("epochs", 200), accelerator="cpu", enable_progress_bar=False)
        _, imputed = model.get_imputed_values(normalized=False)
        return np.log1p(imputed[:, fold.test]).astype(np.float32)


