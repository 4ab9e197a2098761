"""SpaGE (Abdelaal et al., NAR 2020), implemented from the paper: PRECISE alignment, then kNN.

PRECISE finds principal vectors (PVs): pairs of directions, one in each dataset's PCA
space, ordered by how similar they are. SpaGE keeps the SC-side PVs whose similarity to
their ST partner exceeds 0.3, projects both datasets on them, and predicts each ST cell
as a distance-weighted mean of its 50 nearest SC cells (cosine distance).
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, log_normalized


def principal_vectors(source: np.ndarray, target: np.ndarray, n_pv: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """PRECISE principal vectors of two datasets sharing their features.

    Parameters
    ----------
    source, target
        Samples x features, z-scored per feature.
    n_pv
        Number of PCA factors per dataset, and of principal vectors.

    Returns
    -------
    The source-side principal vectors (``n_pv`` x features, unit rows) and the cosine
    similarity of each with its target-side partner (descending).
    """
    ps = PCA(n_components=n_pv, random_state=seed).fit(source).components_
    pt = PCA(n_components=n_pv, random_state=seed).fit(target).components_
    u, similarity, _ = np.linalg.svd(ps @ pt.T)
    pv = u.T @ ps
    return pv / np.linalg.norm(pv, axis=1, keepdims=True), similarity


def spage_impute(
    st: np.ndarray, sc: np.ndarray, sc_target: np.ndarray, n_pv: int = 30, k: int = 50, min_similarity: float = 0.3, seed: int = 0
) -> np.ndarray:
    """Predict ``sc_target``'s genes for the ST cells.

    Parameters
    ----------
    st, sc
        ST cells and SC cells x the same training genes (normalised, log scale).
    sc_target
        SC cells x genes to predict, on the scale the prediction should have.
    """
    st_z, sc_z = _zscore(st), _zscore(sc)
    n_pv = min(n_pv, st.shape[1], st.shape[0], sc.shape[0])
    pv, similarity = principal_vectors(sc_z, st_z, n_pv, seed)
    # At least one vector: with none, every cell would be equidistant from every other.
    basis = pv[: max(1, int(np.sum(similarity > min_similarity)))].T
    k = min(k, sc.shape[0])
    distances, neighbours = NearestNeighbors(n_neighbors=k, metric="cosine").fit(sc_z @ basis).kneighbors(st_z @ basis)
    return (_weights(distances)[:, :, None] * sc_target[neighbours]).sum(axis=1).astype(np.float32)


def _weights(distances: np.ndarray) -> np.ndarray:
    """SpaGE's neighbour weights: ``1 - d / sum(d)`` over neighbours closer than 1, rescaled to sum 1."""
    close = distances < 1
    d = np.where(close, distances, 0.0)
    total = d.sum(axis=1, keepdims=True)
    w = np.where(close, 1 - np.divide(d, total, out=np.zeros_like(d), where=total > 0), 0.0)
    norm = w.sum(axis=1, keepdims=True)
    return np.divide(w, norm, out=np.zeros_like(w), where=norm > 0)


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


class SpaGEMethod(Method):
    name = "spage"
    preprocessing = Preprocessing(
        takes="library-size normalised log1p on each side (as in the SpaGE paper), z-scored per gene for the alignment",
        returns="SC normalised log1p of the held-out genes, averaged over neighbours",
        to_log1p="as returned (a log scale; the metrics are insensitive to a per-gene factor)",
    )
    settings = "our implementation of the paper: n_pv=30 (capped by the training genes), 50 cosine neighbours, PVs with similarity > 0.3"

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        options = dict(self.options)
        li2022 = options.pop("protocol", None) == "li2022"
        sc_index = inputs.sc.var_names.get_indexer
        train = sc_index([inputs.genes[i] for i in fold.train])
        if li2022:
            # Li et al. 2022 (SpatialGenes.py) pass raw counts on both sides, n_pv = half the
            # training genes (at most 100), and score the counts SpaGE returns.
            sc, st = _dense(inputs.sc.X), _dense(inputs.st.X[:, fold.train])
            options.setdefault("n_pv", min(len(fold.train) // 2, 100))
        else:
            sc, st = log_normalized(inputs.sc.X), log_normalized(inputs.st.X[:, fold.train])
        return spage_impute(st, sc[:, train], sc[:, sc_index(inputs.test_genes(fold))], seed=self.seed, **options)


def _dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=np.float64)
