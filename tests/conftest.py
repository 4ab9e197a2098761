"""Shared fixtures: small slices of the real paired datasets in ../shared/data."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest

from spaim import datasets


@pytest.fixture(scope="session")
def osmfish() -> tuple[ad.AnnData, ad.AnnData]:
    return datasets.load("osmfish_cortex", download=False)


@pytest.fixture(scope="session")
def merfish() -> tuple[ad.AnnData, ad.AnnData]:
    return datasets.load("merfish_hypothalamus", download=False)


@pytest.fixture()
def small_pair(merfish) -> tuple[ad.AnnData, ad.AnnData]:
    """Fresh copies of 300 MERFISH cells and 400 reference cells (134 shared genes)."""
    st, sc = merfish
    rng = np.random.default_rng(0)
    st_cells = np.sort(rng.choice(st.n_obs, 300, replace=False))
    sc_cells = np.sort(rng.choice(sc.n_obs, 400, replace=False))
    return st[st_cells].copy(), sc[sc_cells].copy()


def fast_training() -> dict:
    """Training options for quick tests: few epochs, small network."""
    return dict(max_epochs=15, progress=False)


@pytest.fixture(scope="session")
def trained_model(merfish):
    """A small SpaIM (the paper's architecture) trained briefly on 300 MERFISH cells and 100 panel genes; read-only.

    The paper's network learns from the first epochs; the default ``"cellbasis"`` one starts
    from plain cluster transfer and may keep it after a short training.
    """
    from spaim import SpaIM

    st, sc = merfish
    rng = np.random.default_rng(1)
    st = st[np.sort(rng.choice(st.n_obs, 300, replace=False)), :100].copy()
    sc = sc[np.sort(rng.choice(sc.n_obs, 400, replace=False))].copy()
    return SpaIM(st, sc, labels_key="cell_type", widths=(32, 16), architecture="paper").train(**fast_training())
