"""How predictions are scored: two scales for the truth, and cell-level structure.

Scorings
--------
``normalized`` (reported first)
    Truth is log1p of the held-out counts after library-size normalisation, with size
    factors from the fold's *training* genes scaled to the median total (what any method
    may know). Count-scale predictions (a method's ``output_scale == "counts"``) are
    normalised by the same factors; log-expression predictions are compared as they are.
    Sequencing depth, which a constant per-cell vector can exploit, is taken out.
``raw``
    Truth is log1p of the raw counts, predictions as returned: the field's protocol
    (Li et al. 2022), kept for comparison with papers.

Cell-level metrics use the held-out predictions of all folds put together (every panel
gene predicted once): domain ARI, cell-wise PCC and agreement of Moran's I.
"""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import scipy.sparse as sp
from scipy.stats import spearmanr

from spaim.cell_basis import spatial_neighbours, zscore_columns
from spaim.metrics import column_pcc
from spaim.preprocessing import Matrix, log1p_dense, size_factors

SCORINGS = ("normalized", "raw")


def fold_size_factors(counts: Matrix, train: np.ndarray) -> np.ndarray:
    """Per-cell factors to the median total, from the training genes' counts only."""
    return size_factors(counts[:, train])


def truth(counts: Matrix, train: np.ndarray, test: np.ndarray, scoring: str) -> np.ndarray:
    """Held-out genes' measured values (cells x ``test``) on the ``scoring`` scale."""
    factors = fold_size_factors(counts, train) if scoring == "normalized" else None
    return log1p_dense(counts[:, test], factors)


def on_scale(prediction: np.ndarray, counts: Matrix, train: np.ndarray, scoring: str, output_scale: str) -> np.ndarray:
    """A method's prediction brought to the ``scoring`` scale (see the module docstring)."""
    if scoring != "normalized" or output_scale != "counts":
        return prediction
    factors = fold_size_factors(counts, train).astype(np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.log1p(np.expm1(np.clip(prediction, 0, None)) * factors[:, None])


def _finite(x: np.ndarray) -> np.ndarray:
    """Non-finite predictions as 0 (no prediction), as the per-gene metrics' policy treats them."""
    return np.nan_to_num(np.asarray(x, np.float64), nan=0.0, posinf=0.0, neginf=0.0)


def cell_pcc(measured: np.ndarray, predicted: np.ndarray) -> float:
    """Median over cells of the PCC across genes, after z-scoring each gene on each side.

    Without the per-gene z-scoring every cell would correlate through the genes' mean
    levels alone.
    """
    a, b = zscore_columns(np.asarray(measured, np.float64)), zscore_columns(_finite(predicted))
    return float(np.median(column_pcc(a.T, b.T)))


def morans_i(x: np.ndarray, weights: sp.csr_matrix) -> np.ndarray:
    """Moran's I of every column of ``x`` under spatial ``weights`` (0 for constant genes)."""
    z = x - x.mean(axis=0)
    num = (z * (weights @ z)).sum(axis=0)
    den = (z**2).sum(axis=0)
    scale = x.shape[0] / weights.sum()
    return np.divide(scale * num, den, out=np.zeros(x.shape[1]), where=den > 0)


def moran_spearman(measured: np.ndarray, predicted: np.ndarray, coords: np.ndarray | None, k: int = 8) -> float:
    """Spearman correlation over genes of Moran's I, imputed vs measured (kNN weights, self excluded)."""
    if coords is None or measured.shape[1] < 3:
        return float("nan")
    weights = spatial_neighbours(coords, k).tolil()
    weights.setdiag(0)
    weights = weights.tocsr()
    a, b = morans_i(np.asarray(measured, np.float64), weights), morans_i(_finite(predicted), weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = spearmanr(a, b).statistic
    return float(rho) if np.isfinite(rho) else 0.0


def domains(x: np.ndarray, n_clusters: int | None = None, seed: int = 0) -> np.ndarray:
    """Leiden domains of cells on a log-scale panel (:func:`spaim.downstream.domains.cluster_cells`).

    ``n_clusters=None`` uses resolution 1 (for the measured panel); otherwise the resolution
    is bisected to give that many clusters (for predictions, to match the measured panel).
    """
    from spaim.downstream.domains import cluster_cells

    # z-scored here in float64: some peers return values whose float32 variance overflows in scanpy's scale
    z = np.clip(zscore_columns(_finite(x)), -10, 10).astype(np.float32)
    z = z[:, z.std(axis=0) > 0]
    if z.shape[1] < 2:  # a constant prediction (e.g. all zero) has one domain
        return np.zeros(z.shape[0], dtype=int).astype(str)
    return cluster_cells(ad.AnnData(X=z), n_clusters, seed=seed)

