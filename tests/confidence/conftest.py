"""A synthetic ST/SC pair whose genes have planted, known difficulty."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest


def planted_pair(seed: int = 0, n_panel: int = 40, n_planted: int = 10, n_types: int = 4):
    """Genes differ only in how strongly they mark cell types (their 'strength').

    A gene with strength 0 has the same rate in every type, so its ST pattern is pure
    Poisson noise that no reference can predict; the larger the strength, the more of its
    ST variance follows cell type, which the SC reference reveals. Panel genes span the
    range; the first half of the planted (unmeasured) genes are easy (strength 1.5), the
    second half hard (strength 0).
    """
    rng = np.random.default_rng(seed)
    strength = np.concatenate([np.linspace(0, 1.5, n_panel), np.full(n_planted // 2, 1.5), np.zeros(n_planted - n_planted // 2)])
    n_genes = strength.size
    effects = rng.normal(size=(n_types, n_genes)) * strength
    rates = rng.uniform(1, 4, size=n_genes) * np.exp(effects - effects.mean(axis=0))
    sc_types = np.repeat(np.arange(n_types), 100)
    st_types = rng.integers(0, n_types, size=300)
    genes = [f"g{i}" for i in range(n_genes)]
    sc = ad.AnnData(rng.poisson(rates[sc_types]).astype(np.float32), obs=pd.DataFrame({"type": sc_types.astype(str)}, index=[f"c{i}" for i in range(sc_types.size)]),
                    var=pd.DataFrame(index=genes))
    st = ad.AnnData(rng.poisson(rates[st_types][:, :n_panel]).astype(np.float32), obs=pd.DataFrame(index=[f"s{i}" for i in range(st_types.size)]),
                    var=pd.DataFrame(index=genes[:n_panel]))
    st.obsm["spatial"] = rng.uniform(size=(st.n_obs, 2))
    st.obs["type"] = st_types.astype(str)
    return st, sc, genes[n_panel:], strength


def type_means(reference, genes, st_types: np.ndarray) -> np.ndarray:
    """Each ST cell's true type's SC profile of ``genes`` (cells x genes)."""
    columns = [reference.cluster_names.index(t) for t in st_types]
    return reference.profiles_of(list(genes))[:, columns].T.astype(np.float32)


def type_mean_predictor(st_types: np.ndarray, noise: float = 0.05):
    """Seed -> fold predictor giving each ST cell its true type's SC profile (plus seeded noise).

    A fast stand-in for SpaIM whose accuracy per gene follows the planted strength.
    """

    def factory(seed: int):
        rng = np.random.default_rng(seed)

        def predict(data, train, test):
            means = type_means(data.reference, [data.shared_sc[i] for i in test], st_types)
            return means + rng.normal(0, noise, size=means.shape).astype(np.float32)

        return predict

    return factory


@pytest.fixture(scope="module")
def planted():
    return planted_pair()
