"""Checks on user AnnData objects; every failure is one actionable line."""

from __future__ import annotations

import anndata as ad
import numpy as np
import scipy.sparse as sp

from spaim.errors import SpaIMInputError


def expression_matrix(
    adata: ad.AnnData,
    role: str,
    layer: str | None = None,
    allow_non_integer: bool = False,
) -> np.ndarray | sp.csr_matrix:
    """Return a validated float32 copy of ``adata``'s counts (``X`` or ``layers[layer]``).

    Parameters
    ----------
    adata
        The user's object; it is not modified.
    role
        ``"ST"`` or ``"SC"``, used in messages.
    layer
        Layer holding raw counts; ``None`` reads ``X``.
    allow_non_integer
        Accept non-integer values (already processed data).
    """
    if not isinstance(adata, ad.AnnData):
        raise SpaIMInputError(f"{role} must be an AnnData object, got {type(adata).__name__}: load it with anndata.read_h5ad.")
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise SpaIMInputError(f"{role} is empty ({adata.n_obs} cells x {adata.n_vars} genes): pass a non-empty AnnData.")
    _check_unique(adata.var_names, role, "gene", "var_names_make_unique()")
    _check_unique(adata.obs_names, role, "cell", "obs_names_make_unique()")
    if layer is None:
        matrix = adata.X
    elif layer in adata.layers:
        matrix = adata.layers[layer]
    else:
        raise SpaIMInputError(f"{role} has no layer '{layer}' (layers: {list(adata.layers)}): pick one of them or omit the layer.")
    if matrix is None:
        raise SpaIMInputError(f"{role}.X is empty: put raw counts in X or name the layer that holds them.")
    matrix = sp.csr_matrix(matrix, dtype=np.float32) if sp.issparse(matrix) else np.array(matrix, dtype=np.float32)
    values = matrix.data if sp.issparse(matrix) else matrix
    _check_values(values, role, allow_non_integer)
    return matrix


def _check_unique(names, role: str, what: str, fix: str) -> None:
    if not names.is_unique:
        dups = names[names.duplicated()].unique()[:3].tolist()
        raise SpaIMInputError(f"{role} has duplicate {what} names (e.g. {dups}): call {role.lower()}.{fix} first.")


def _check_values(values: np.ndarray, role: str, allow_non_integer: bool) -> None:
    if not np.all(np.isfinite(values)):
        raise SpaIMInputError(f"{role} contains NaN or infinite values: remove or replace them before imputation.")
    if values.size and values.min() < 0:
        raise SpaIMInputError(f"{role} contains negative values (min {values.min():g}): pass raw counts, not scaled data.")
    if not allow_non_integer and values.size and not np.array_equal(values, np.round(values)):
        raise SpaIMInputError(
            f"{role} contains non-integer values where raw counts are expected: pass counts, "
            "or allow already-processed values with allow_non_integer=True (CLI: --allow-non-integer)."
        )
