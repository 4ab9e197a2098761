"""Simple, strong floors: nearest SC cells (kNN) and soft cluster transfer."""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from spaim.cell_basis import TEMPERATURES, choose_temperature, cluster_affinity, soft_assignment
from spaim.pairing import PairedData
from spaim.preprocessing import Matrix, log1p_dense, size_factors


def knn_impute(
    st_log: np.ndarray,
    sc_log_train: np.ndarray,
    sc_log_target: np.ndarray,
    k: int = 20,
    n_components: int = 30,
    seed: int = 0,
) -> np.ndarray:
    """Predict target genes for ST cells from their ``k`` nearest SC cells.

    Both sides are z-scored per training gene (each dataset on its own statistics), the
    SC cells are embedded by PCA and the ST cells projected into the same components.

    Parameters
    ----------
    st_log
        ST cells x training genes, log scale.
    sc_log_train
        SC cells x the same training genes, log scale.
    sc_log_target
        SC cells x genes to predict, log scale.

    Returns
    -------
    ST cells x target genes: the mean of the neighbours' target expression.
    """
    st_z, sc_z = _zscore(st_log), _zscore(sc_log_train)
    n_components = max(1, min(n_components, sc_z.shape[1] - 1, sc_z.shape[0] - 1))
    pca = PCA(n_components=n_components, random_state=seed).fit(sc_z)
    k = min(k, sc_z.shape[0])
    neighbours = NearestNeighbors(n_neighbors=k).fit(pca.transform(sc_z))
    _, idx = neighbours.kneighbors(pca.transform(st_z))
    return sc_log_target[idx].mean(axis=1).astype(np.float32)


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def knn_predictor(sc_counts: Matrix, sc_genes, k: int = 20, n_components: int = 30, seed: int = 0):
    """A cross-validation fold predictor (see :func:`spaim.crossval.run_folds`) for the kNN baseline."""
    sc_index = sc_genes.get_indexer

    def predict(data: PairedData, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        factors = size_factors(sc_counts) if data.normalize else None
        sc_train = log1p_dense(sc_counts[:, sc_index([data.shared_sc[i] for i in train])], factors)
        sc_test = log1p_dense(sc_counts[:, sc_index([data.shared_sc[i] for i in test])], factors)
        st_train = data.st_log(train, data.st_size_factors(train))
        return knn_impute(st_train, sc_train, sc_test, k=k, n_components=n_components, seed=seed)

    return predict



def cluster_transfer_impute(
    st_log: np.ndarray,
    profiles_train: np.ndarray,
    profiles_target: np.ndarray,
    temperatures: tuple[float, ...] = TEMPERATURES,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """Predict target genes as each ST cell's soft mixture of SC cluster profiles.

    Each ST cell is soft-assigned to the SC clusters by a softmax over its correlations
    with the clusters' profiles on the training genes
    (:func:`spaim.cell_basis.cluster_affinity`). The temperature is chosen among
    ``temperatures`` on a validation share of the training genes
    (:func:`spaim.cell_basis.choose_temperature`), so the genes to predict are never seen.

    Parameters
    ----------
    st_log
        ST cells x training genes, log scale.
    profiles_train, profiles_target
        Training genes x clusters and target genes x clusters (SC cluster means).

    Returns
    -------
    ST cells x target genes, and the chosen temperature.
    """
    temperature = choose_temperature(st_log, profiles_train, temperatures, seed=seed)
    weights = soft_assignment(cluster_affinity(st_log, profiles_train), temperature)
    return (weights @ np.asarray(profiles_target, dtype=np.float32).T).astype(np.float32), temperature
