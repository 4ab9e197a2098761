"""Checks on user data, run before any clustering or training; every failure is one actionable line.

Minimums (documented in the README's refusal table):

- ``MIN_SHARED_GENES`` genes shared by ST and SC: below it the model has too few samples
  (genes are its samples) to learn anything transferable, and is refused; below
  ``FEW_SHARED_GENES`` it is trained with a warning (held-out scores are noisy there).
- ``MIN_CELLS_TO_CLUSTER`` SC cells to cluster (fewer: give ``labels_key``).
- ``MIN_ST_CELLS`` ST cells: the model learns patterns across cells (cosine losses over
  cells), which a handful of cells cannot show.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from spaim.errors import SpaIMInputError, SpaIMWarning

MIN_SHARED_GENES = 10
FEW_SHARED_GENES = 30
MIN_CELLS_TO_CLUSTER = 10
MIN_ST_CELLS = 10


def expression_matrix(
    adata: ad.AnnData,
    role: str,
    layer: str | None = None,
    allow_non_integer: bool = False,
    var_names: pd.Index | None = None,
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
    var_names
        The gene names to check for duplicates, if not ``adata.var_names`` (e.g. stripped).
    """
    check_anndata(adata, role)
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise SpaIMInputError(f"{role} is empty ({adata.n_obs} cells x {adata.n_vars} genes): pass a non-empty AnnData.")
    _check_unique(adata.var_names if var_names is None else var_names, role, "gene", "var_names_make_unique()")
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
    if not values.size or values.max() == 0:
        raise SpaIMInputError(
            f"{role} {'X' if layer is None else 'layer ' + repr(layer)} holds only zeros: pass the raw counts (or name the layer that holds them)."
        )
    return matrix


def check_anndata(adata, role: str) -> None:
    if not isinstance(adata, ad.AnnData):
        raise SpaIMInputError(f"{role} must be an AnnData object, got {type(adata).__name__}: load it with anndata.read_h5ad.")


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


def check_shared_genes(n_shared: int) -> None:
    """Refuse fewer than ``MIN_SHARED_GENES`` shared genes; warn below ``FEW_SHARED_GENES``."""
    if n_shared < MIN_SHARED_GENES:
        raise SpaIMInputError(
            f"ST and SC share only {n_shared} expressed gene(s); SpaIM needs at least {MIN_SHARED_GENES} to learn from: "
            "use the same gene identifiers on both sides (try ignore_case=True / --ignore-case) or a larger ST panel."
        )
    if n_shared < FEW_SHARED_GENES:
        warnings.warn(
            f"ST and SC share only {n_shared} expressed genes (fewer than {FEW_SHARED_GENES}): the imputation is usable "
            "but weakly constrained; check it by cross-validation (spaim cv).",
            SpaIMWarning,
            stacklevel=3,
        )


def check_st_cells(st_shared) -> None:
    """Refuse too few ST cells, or none with counts in the shared genes; warn about cells without any."""
    if st_shared.shape[0] < MIN_ST_CELLS:
        raise SpaIMInputError(
            f"ST has {st_shared.shape[0]} cell(s); SpaIM learns patterns across cells and needs at least {MIN_ST_CELLS}: "
            "pass the whole slide (or several fields of view together)."
        )
    totals = np.asarray(st_shared.sum(axis=1)).ravel()
    empty = int((totals == 0).sum())
    if empty == len(totals):
        raise SpaIMInputError("ST has no counts in any gene shared with SC: check the ST layer and the gene names.")
    if empty:
        warnings.warn(
            f"{empty} of {len(totals)} ST cells have no counts in the shared genes: their imputed values carry no ST "
            "information; drop them first (e.g. sc.pp.filter_cells(st, min_counts=1)).",
            SpaIMWarning,
            stacklevel=3,
        )


def check_sc_cells(sc_counts, labels: np.ndarray | None, n_clusters: int | None) -> None:
    """Enough SC cells for the clusters asked for (labels were checked for two or more types)."""
    n_cells = sc_counts.shape[0]
    if labels is None and n_cells < MIN_CELLS_TO_CLUSTER:
        raise SpaIMInputError(
            f"SC has {n_cells} cell(s), too few to cluster (at least {MIN_CELLS_TO_CLUSTER}): "
            "give cell-type labels with labels_key (CLI: --labels-key) or a larger reference."
        )
    if n_clusters is not None and n_clusters > n_cells:
        raise SpaIMInputError(f"n_clusters={n_clusters} exceeds the {n_cells} SC cells: ask for at most {n_cells} clusters.")


def check_requested_genes(genes: Sequence[str] | None, sc_genes: pd.Index) -> list[str]:
    """Requested genes as a list: names (not one string), each once, all in the SC reference."""
    if genes is None:
        return []
    if isinstance(genes, str):
        raise SpaIMInputError(f"genes={genes!r} is one string: pass a list of gene names, e.g. genes=[{genes!r}].")
    genes = list(genes)
    duplicated = pd.Index(genes)[pd.Index(genes).duplicated()].unique().tolist()
    if duplicated:
        raise SpaIMInputError(f"the requested genes name {duplicated[:3]} more than once: pass each gene once.")
    missing = [g for g in genes if g not in sc_genes]
    if missing:
        raise SpaIMInputError(
            f"{len(missing)} requested gene(s) are not in the SC reference (e.g. {missing[:3]}): check their spelling or drop them."
        )
    return genes


def check_coordinates(coords: np.ndarray | None, n_cells: int) -> None:
    """ST coordinates, when present, give every cell finite x and y."""
    if coords is None:
        return
    if coords.ndim != 2 or coords.shape[0] != n_cells or coords.shape[1] < 2:
        raise SpaIMInputError(
            f"ST coordinates have shape {coords.shape}, not (cells, 2) with {n_cells} cells: store x and y per cell in obsm['spatial']."
        )
    if not np.isfinite(coords).all():
        raise SpaIMInputError(
            f"ST coordinates hold NaN or infinite values ({int((~np.isfinite(coords)).any(axis=1).sum())} cells): fix them or drop those cells."
        )
