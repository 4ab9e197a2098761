"""Imputed versions of an ST dataset by SpaIM and by the kNN baseline, for downstream comparison.

Every value in an imputed version comes from the SC reference, never from the ST
measurement of that gene: panel genes are held-out cross-validation predictions, and
genes outside the panel (when the reference is wider) come from a model trained on all
panel genes.
"""

from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd

from spaim.baselines import knn_impute, knn_predictor
from spaim.crossval import cross_validate, run_folds
from spaim.errors import SpaIMInputError
from spaim.model import SpaIM
from spaim.options import SetupOptions
from spaim.pairing import PairedData, prepare_pair
from spaim.preprocessing import log1p_dense, size_factors
from spaim.validation import expression_matrix

METHODS = ("spaim", "knn")


def impute_versions(
    st: ad.AnnData,
    sc: ad.AnnData,
    methods: Sequence[str] = METHODS,
    folds: int = 10,
    seed: int = 0,
    max_epochs: int = 300,
    **setup,
) -> dict[str, ad.AnnData]:
    """One imputed AnnData per method: CV predictions of panel genes plus any new genes.

    Parameters
    ----------
    st, sc
        As for :class:`spaim.SpaIM` (not modified).
    methods
        Any of ``"spaim"`` and ``"knn"``.
    folds
        Cross-validation folds over the shared genes.
    max_epochs
        SpaIM training epochs.
    **setup
        Set-up options of :class:`spaim.SpaIM` (``allow_non_integer``, ``labels_key``, ...).

    Returns
    -------
    ``{method: AnnData}``, ST cells x (shared genes, then new genes), log1p values,
    ``var["measured"]`` True for panel genes.
    """
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise SpaIMInputError(f"unknown method(s) {sorted(unknown)}: choose from {list(METHODS)}.")
    SetupOptions.from_kwargs({"seed": seed} | setup, "impute_versions")  # every option checked before any work
    runners = {"spaim": _spaim_version, "knn": _knn_version}
    return {m: runners[m](st, sc, folds, seed, max_epochs, setup) for m in methods}


def _spaim_version(st, sc, folds: int, seed: int, max_epochs: int, setup: dict) -> ad.AnnData:
    _, held_out = cross_validate(st, sc, folds=folds, seed=seed, progress=False, return_predictions=True, max_epochs=max_epochs, **setup)
    model = SpaIM(st, sc, seed=seed, **setup)
    new_genes = model.default_genes()
    if not new_genes:
        return _assemble(held_out.X, held_out.var_names, np.empty((st.n_obs, 0), np.float32), [], model.data)
    model.train(max_epochs=max_epochs, progress=False)
    return _assemble(held_out.X, held_out.var_names, model.predict(new_genes), new_genes, model.data)


def _knn_version(st, sc, folds: int, seed: int, max_epochs: int, setup: dict) -> ad.AnnData:
    data = prepare_pair(st, sc, seed=seed, **setup)
    sc_counts = expression_matrix(sc, "SC", setup.get("sc_layer"), setup.get("allow_non_integer", False))
    _, held_out = run_folds(data, knn_predictor(sc_counts, sc.var_names, seed=seed), folds, seed, progress=False, return_predictions=True)
    measured = data.match.measured_sc
    new_genes = [g for g in data.reference.genes if g not in measured]
    columns = sc.var_names.get_indexer
    st_log = data.st_log(np.arange(len(data.shared_st)), data.st_size_factors())
    factors = size_factors(sc_counts) if data.normalize else None
    sc_shared = log1p_dense(sc_counts[:, columns(data.shared_sc)], factors)
    sc_new = log1p_dense(sc_counts[:, columns(new_genes)], factors)
    new = knn_impute(st_log, sc_shared, sc_new, seed=seed) if new_genes else np.empty((st.n_obs, 0), np.float32)
    return _assemble(held_out, data.shared_st, new, new_genes, data)


def _assemble(held_out: np.ndarray, shared: Sequence[str], new: np.ndarray, new_genes: Sequence[str], data: PairedData) -> ad.AnnData:
    names = pd.Index([*shared, *new_genes], dtype=str)
    var = pd.DataFrame({"measured": [True] * len(shared) + [False] * len(new_genes)}, index=names)
    out = ad.AnnData(X=np.hstack([np.asarray(held_out, np.float32), np.asarray(new, np.float32)]), obs=data.st_obs.copy(), var=var)
    out.uns["log1p"] = {"base": None}  # scanpy's mark of natural-log log1p values
    if data.st_spatial is not None:
        out.obsm["spatial"] = data.st_spatial.copy()
    return out
