"""Expression AnnData for the downstream analyses: measured counts to log1p, imputed genes merged in.

Every analysis reads log1p values (natural log) from ``X``, the scale on which SpaIM
returns imputed genes, so measured and imputed data are compared on the same footing.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from spaim.errors import SpaIMInputError
from spaim.pairing import spatial_coordinates
from spaim.preprocessing import log1p_dense, size_factors
from spaim.validation import expression_matrix

#: The name of the measured data among the versions that the downstream analyses compare.
RAW = "raw"


def log_expression(
    st: ad.AnnData, layer: str | None = None, normalize: bool = False, allow_non_integer: bool = False
) -> ad.AnnData:
    """Measured ST expression as a new AnnData with ``log1p`` of counts in ``X``.

    Parameters
    ----------
    st
        Spatial data with raw counts in ``X`` or ``layer`` (not modified).
    layer
        Layer holding the counts (default ``X``).
    normalize
        Library-size normalise to the median total before ``log1p``; leave off to match
        SpaIM's default scale (plain ``log1p`` of counts).
    allow_non_integer
        Accept already processed, non-negative values.

    Returns
    -------
    Cells x genes, dense float32 ``log1p`` values; ``obs`` copied and coordinates in
    ``obsm["spatial"]`` when ``st`` has them; ``var["measured"]`` is True.
    """
    counts = expression_matrix(st, "ST", layer, allow_non_integer)
    values = log1p_dense(counts, size_factors(counts) if normalize else None)
    out = ad.AnnData(X=values, obs=st.obs.copy(), var=pd.DataFrame({"measured": True}, index=st.var_names.copy()))
    coords = spatial_coordinates(st)
    if coords is not None:
        out.obsm["spatial"] = coords
    return out


def combine(measured: ad.AnnData, imputed: ad.AnnData) -> ad.AnnData:
    """Measured data with the imputation applied: imputed values win, other measured genes stay.

    Genes only in ``imputed`` are added; genes in both take the imputed values (e.g.
    cross-validated predictions of panel genes); genes only in ``measured`` keep their
    measured values. ``var["imputed"]`` tells which columns are predictions.

    Parameters
    ----------
    measured
        Log-scale measured data (see :func:`log_expression`), not modified.
    imputed
        Log-scale imputed data over the same cells (any order), not modified.
    """
    imputed = align_cells(imputed, measured)
    values = dense(imputed)
    bad = ~np.isfinite(values).all(axis=0)
    if bad.any():
        raise SpaIMInputError(
            f"imputed data has NaN or infinite values in {int(bad.sum())} gene(s) (e.g. {list(imputed.var_names[bad][:3])}): "
            "drop those genes or fill them before the analysis."
        )
    keep = measured.var_names.difference(imputed.var_names, sort=False)
    kept = dense(measured[:, keep])
    x = np.hstack([kept, values]).astype(np.float32)
    names = keep.append(imputed.var_names)
    var = pd.DataFrame(
        {"measured": names.isin(measured.var_names), "imputed": np.r_[np.zeros(len(keep), bool), np.ones(imputed.n_vars, bool)]},
        index=names,
    )
    out = ad.AnnData(X=x, obs=measured.obs.copy(), var=var)
    for key, value in measured.obsm.items():
        out.obsm[key] = np.asarray(value).copy()
    return out


def align_cells(adata: ad.AnnData, like: ad.AnnData) -> ad.AnnData:
    """``adata``'s rows reordered to ``like``'s cells; a clear error when the cells differ."""
    if adata.obs_names.equals(like.obs_names):
        return adata
    missing = like.obs_names.difference(adata.obs_names)
    if len(missing) or adata.n_obs != like.n_obs:
        raise SpaIMInputError(
            f"the imputed data do not cover the same cells as the ST data ({len(missing)} ST cells missing, "
            f"e.g. {list(missing[:3])}): impute on the same ST object."
        )
    return adata[like.obs_names]


def dense(adata: ad.AnnData) -> np.ndarray:
    """``X`` as a dense float64 array (a copy)."""
    x = adata.X
    return np.array(x.toarray() if sp.issparse(x) else x, dtype=np.float64)
