"""What every method sees: the same ST and SC objects, the same shared genes, the same folds."""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from spaim.benchmark.scoring import truth
from spaim.crossval import make_folds
from spaim.genes import match_genes
from spaim.pairing import spatial_coordinates
from spaim.validation import expression_matrix


#: ``st.obs`` column with ST cell types, kept for the cell-type ARI where a dataset has it.
ST_LABELS_KEY = "cell_type"


@dataclass(frozen=True)
class Fold:
    """One fold: indices (into the shared genes) of training and held-out genes."""

    index: int
    train: np.ndarray
    test: np.ndarray


@dataclass
class BenchmarkInputs:
    """A validated ST/SC pair reduced to what the methods get.

    ``st`` holds the ST cells x shared genes (counts), its genes renamed to their SC names so
    that every method matches genes exactly; ``sc`` is the whole SC reference (counts).
    Both are fresh objects: a method may modify them without touching the user's data.
    """

    st: ad.AnnData
    sc: ad.AnnData
    st_genes: list[str]  # the shared genes as named in the ST panel, for reports
    allow_non_integer: bool

    @property
    def genes(self) -> list[str]:
        """The shared genes as named in SC (and in ``st``)."""
        return list(self.st.var_names)

    def st_train(self, fold: Fold) -> ad.AnnData:
        """A fresh AnnData of the ST cells x the fold's training genes (counts)."""
        return self.st[:, fold.train].copy()

    def test_genes(self, fold: Fold) -> list[str]:
        return [self.genes[i] for i in fold.test]

    def measured(self, fold: Fold, scoring: str = "normalized") -> np.ndarray:
        """Held-out genes' measured values on the ``scoring`` scale (:mod:`spaim.benchmark.scoring`)."""
        return truth(self.st.X, fold.train, fold.test, scoring)

    def folds(self, n_folds: int, seed: int) -> list[Fold]:
        """The shuffled K-fold split of the shared genes (:func:`spaim.crossval.make_folds`)."""
        n = len(self.genes)
        return [Fold(k, np.setdiff1d(np.arange(n), test), test) for k, test in enumerate(make_folds(n, n_folds, seed))]


def build_inputs(st: ad.AnnData, sc: ad.AnnData, ignore_case: bool = False, allow_non_integer: bool = False) -> BenchmarkInputs:
    """Validate ``st`` and ``sc`` and match their genes (neither object is modified).

    Parameters
    ----------
    st, sc
        Raw counts in ``X``; coordinates in ``obsm["spatial"]`` or ``obs`` columns.
    ignore_case
        Match gene names ignoring case.
    allow_non_integer
        Accept already processed (non-integer) values.
    """
    st_counts = expression_matrix(st, "ST", allow_non_integer=allow_non_integer)
    sc_counts = expression_matrix(sc, "SC", allow_non_integer=allow_non_integer)
    match = match_genes(st.var_names, sc.var_names, case_sensitive=not ignore_case)
    st_matrix = st_counts[:, st.var_names.get_indexer(match.st_names)]
    st_out = ad.AnnData(
        X=st_matrix.toarray() if hasattr(st_matrix, "toarray") else st_matrix,
        obs=pd.DataFrame(
            {ST_LABELS_KEY: st.obs[ST_LABELS_KEY].astype(str).to_numpy()} if ST_LABELS_KEY in st.obs else {},
            index=st.obs_names.astype(str),
        ),
        var=pd.DataFrame(index=pd.Index(match.sc_names, dtype=str)),
    )
    coords = spatial_coordinates(st)
    if coords is not None:
        st_out.obsm["spatial"] = coords
    sc_out = ad.AnnData(X=sc_counts, obs=sc.obs.copy(), var=pd.DataFrame(index=sc.var_names.astype(str)))
    return BenchmarkInputs(st_out, sc_out, list(match.st_names), allow_non_integer)
