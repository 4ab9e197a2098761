"""ENVI (Haviv et al., Nat. Biotechnol. 2024) through its package ``scenvi`` (JAX; runs on CPU)."""

from __future__ import annotations

from types import ModuleType

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, require
from spaim.errors import SpaIMInputError


class EnviMethod(Method):
    name = "envi"
    # Decoded in ENVI's SC mode: expected counts at an SC cell's depth, not the ST cell's.
    output_scale = "log_normalized"
    preprocessing = Preprocessing(
        takes="raw counts on each side (ENVI log-transforms its inputs itself); ST coordinates for COVET",
        returns="expected SC counts of the held-out genes decoded from each ST cell's latent (impute_genes, sc_dist='nb')",
        to_log1p="log1p of the expected SC counts (no ST-cell depth in them)",
    )
    settings = (
        "ENVI(spatial_data, sc_data, sc_genes=held-out genes) at its defaults (num_HVG=2048, 3 layers x 1024 neurons, "
        "latent_dim=512, k_nearest=8, num_cov_genes=64, spatial_dist='pois', sc_dist='nb'); train() at its defaults "
        "(training_steps=10000, batch_size=128, init_lr=3e-4); impute_genes(): the scenvi README"
    )

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        if "spatial" not in inputs.st.obsm:
            raise SpaIMInputError("ENVI needs ST coordinates (obsm['spatial'] or obs x/y columns).")
        scenvi = import_scenvi()
        from jax import random

        train, test = [inputs.genes[i] for i in fold.train], inputs.test_genes(fold)
        st = ad.AnnData(
            X=_dense(inputs.st.X[:, fold.train]),
            obs=pd.DataFrame(index=inputs.st.obs_names),
            var=pd.DataFrame(index=pd.Index(train, dtype=str)),
        )
        st.obsm["spatial"] = np.asarray(inputs.st.obsm["spatial"], dtype=float)[:, :2]
        sc = ad.AnnData(X=_dense(inputs.sc.X), obs=pd.DataFrame(index=inputs.sc.obs_names), var=pd.DataFrame(index=inputs.sc.var_names))
        model = scenvi.ENVI(spatial_data=st, sc_data=sc, sc_genes=test)
        model.train(training_steps=self.options.get("training_steps", 10000), key=random.key(self.seed))
        model.impute_genes()
        return np.log1p(np.asarray(model.spatial_data.obsm["imputation"][test], dtype=np.float32))


def _dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if sp.issparse(x) else x, dtype=np.float32)


def import_scenvi() -> ModuleType:
    """``scenvi``, with the JAX table its tensorflow-probability expects restored first."""
    require("jax", "scenvi")
    _restore_jax_aval_mappings()
    return require("scenvi", "scenvi")


def _restore_jax_aval_mappings() -> None:
    """scenvi 0.4.6 needs tensorflow-probability 0.22, whose JAX backend registers a type in
    ``jax.interpreters.xla.pytype_aval_mappings``, gone from the JAX that moscot (beside it)
    needs; the table lives on in ``jax._src.core``. Restored for this worker process only.
    """
    import jax
    import jax._src.core as core
    from jax.interpreters import xla

    for module in (xla, jax.core):
        if not hasattr(module, "pytype_aval_mappings"):
            module.pytype_aval_mappings = core.pytype_aval_mappings
