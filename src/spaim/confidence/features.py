"""Per-gene features that predict how well a gene will be imputed, computed without measuring it.

Every feature comes from the SC reference (the gene's cluster profile) or from the
model's own predictions, never from the gene's ST measurement, so the same function
describes a held-out panel gene and a gene that was never measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from spaim.cell_basis import zscore_columns
from spaim.metrics import column_pcc

#: Column names of :func:`gene_features`, in order.
FEATURES = (
    "sc_mean", "sc_spread", "sc_active_clusters", "profile_similarity", "neighbour_pcc", "pred_spread", "seed_agreement",
    "reference_pcc",
)

#: Panel genes whose held-out PCC is averaged for ``neighbour_pcc``.
N_NEIGHBOURS = 5
#: Most metacells averaged for ``reference_pcc`` (a quarter of them on small references).
N_REFERENCE_NEIGHBOURS = 15


def _unit_rows(profiles: np.ndarray) -> np.ndarray:
    """Profiles centred over clusters and scaled to unit length (zero rows stay zero)."""
    centred = profiles - profiles.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 0)


def profile_correlations(profiles: np.ndarray, panel_profiles: np.ndarray) -> np.ndarray:
    """Genes x panel genes Pearson correlation of cluster profiles."""
    return _unit_rows(np.asarray(profiles, np.float64)) @ _unit_rows(np.asarray(panel_profiles, np.float64)).T


def _squared_distances(x: np.ndarray) -> np.ndarray:
    """Rows x rows squared Euclidean distances of ``x``."""
    squares = (x**2).sum(axis=1)
    return squares[:, None] + squares[None, :] - 2 * x @ x.T


def reference_pcc(metacells: np.ndarray, panel_metacells: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """How well the panel genes predict each gene within the SC reference.

    Each metacell's value of a gene is predicted as the mean over its nearest metacells in
    the space of the panel genes (standardised; the metacell itself left out), and the
    prediction is correlated with the gene's actual metacell values. This is the SC-side
    analogue of imputation from the panel: a gene that the panel's cell states do not
    determine in the reference will not be determined by them on the slide either.

    Parameters
    ----------
    metacells
        Genes x metacells log expression of the genes to describe.
    panel_metacells
        Panel genes x metacells log expression.
    exclude
        Genes x panel genes mask of panel genes to leave out of a gene's neighbour search
        (itself, or genes held out with it); genes sharing a mask share one search.
    """
    metacells = np.asarray(metacells, np.float64)
    panel = zscore_columns(np.asarray(panel_metacells, np.float64).T)  # metacells x panel genes
    n = panel.shape[0]
    k = int(np.clip(n // 4, 1, N_REFERENCE_NEIGHBOURS))
    if exclude is None:
        exclude = np.zeros((len(metacells), panel.shape[1]), bool)
    patterns, group = np.unique(np.asarray(exclude, bool), axis=0, return_inverse=True)
    # Distances over all panel genes once; a pattern subtracts its few left-out genes' share (one gene per
    # panel gene scored while nested) instead of redoing the whole product for every gene.
    everything = _squared_distances(panel)
    out = np.full(len(metacells), np.nan)
    for g, pattern in enumerate(patterns):
        distance = everything - _squared_distances(panel[:, pattern])
        np.fill_diagonal(distance, np.inf)
        neighbours = np.argsort(distance, axis=1)[:, :k]
        rows = np.flatnonzero(group.ravel() == g)
        values = metacells[rows].T  # metacells x genes
        out[rows] = column_pcc(values[neighbours].mean(axis=1), values)
    return out


def _prediction_features(predictions: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Spread of the first prediction over cells, and mean correlation of the others with it."""
    first = np.asarray(predictions[0], np.float64)
    spread = first.std(axis=0) / (first.mean(axis=0) + 0.1)
    if len(predictions) < 2:
        return spread, np.full(first.shape[1], np.nan)
    agreement = np.mean([column_pcc(first, np.asarray(p, np.float64)) for p in predictions[1:]], axis=0)
    return spread, agreement


def gene_features(
    profiles: np.ndarray,
    cluster_weights: np.ndarray,
    panel_profiles: np.ndarray,
    panel_pcc: np.ndarray,
    predictions: Sequence[np.ndarray],
    exclude: np.ndarray | None = None,
    metacells: np.ndarray | None = None,
    panel_metacells: np.ndarray | None = None,
) -> pd.DataFrame:
    """Features of each gene that predict its imputation accuracy.

    Parameters
    ----------
    profiles
        Genes x SC clusters log expression of the genes to describe.
    cluster_weights
        Share of SC cells in each cluster.
    panel_profiles, panel_pcc
        Cluster profiles and held-out PCC of measured genes whose accuracy is known.
    predictions
        One or more cells x genes predictions of the described genes by models that never
        saw them (several: models differing only in their seed).
    exclude
        Genes x panel genes boolean mask of panel genes not to use for a gene (itself, or
        genes held out with it).
    metacells, panel_metacells
        Genes x metacells and panel genes x metacells log expression of the SC reference
        (for ``reference_pcc``; NaN without them).

    Returns
    -------
    One row per gene with the columns :data:`FEATURES`:

    ``sc_mean``, ``sc_spread``
        Mean and standard deviation over SC cells (cluster-weighted) of the profile:
        genes that do not vary between cell types leave nothing for the model to map.
    ``sc_active_clusters``
        Fraction of clusters with log expression above 0.1 (breadth vs sparsity).
    ``profile_similarity``
        Mean correlation with the 5 most similar panel profiles: genes unlike any
        training gene ask the model to extrapolate.
    ``neighbour_pcc``
        Similarity-weighted held-out PCC of those 5 panel genes.
    ``pred_spread``
        Coefficient of variation of the prediction over ST cells.
    ``seed_agreement``
        Mean correlation over cells between the predictions of models with different
        seeds (NaN with a single prediction).
    ``reference_pcc``
        How well the panel genes predict the gene among the SC metacells
        (:func:`reference_pcc`).
    """
    profiles = np.asarray(profiles, np.float64)
    weights = np.asarray(cluster_weights, np.float64) / np.sum(cluster_weights)
    mean = profiles @ weights
    spread = np.sqrt(((profiles - mean[:, None]) ** 2) @ weights)
    corr = profile_correlations(profiles, panel_profiles)
    if exclude is not None:
        corr = np.where(exclude, -np.inf, corr)
    k = min(N_NEIGHBOURS, corr.shape[1])
    top = np.argsort(-corr, axis=1)[:, :k]
    top_corr = np.take_along_axis(corr, top, axis=1)
    valid = np.isfinite(top_corr)
    similarity = np.where(valid, top_corr, 0).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    w = np.where(valid, np.clip(top_corr, 0, None) + 1e-3, 0)
    neighbour_pcc = (w * np.asarray(panel_pcc, np.float64)[top]).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-12)
    pred_spread, agreement = _prediction_features(predictions)
    return pd.DataFrame(
        {
            "sc_mean": mean,
            "sc_spread": spread,
            "sc_active_clusters": (profiles > 0.1).mean(axis=1),
            "profile_similarity": similarity,
            "neighbour_pcc": neighbour_pcc,
            "pred_spread": pred_spread,
            "seed_agreement": agreement,
            "reference_pcc": (np.full(len(profiles), np.nan) if metacells is None
                              else reference_pcc(metacells, panel_metacells, exclude)),
        },
        columns=list(FEATURES),
    )
