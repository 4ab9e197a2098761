"""Tests that respect imputation uncertainty: confidence filtering and multiple imputation.

:meth:`spaim.SpaIM.impute` after :meth:`spaim.SpaIM.calibrate` gives each gene a
``confidence`` (estimated held-out PCC) and each value an interval. A test run on imputed
values as if they were measured is overconfident; here each imputed value is redrawn
``n_imputations`` times from a normal distribution matching its interval, the group
difference is estimated on every draw, and the draws are pooled by Rubin's rules (the idea
of TISSUE's multiple-imputation t-test), so genes with wide intervals lose significance.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as student_t

from spaim.errors import SpaIMInputError


def confident(imputed: ad.AnnData, min_confidence: float) -> ad.AnnData:
    """The genes of ``imputed`` whose ``var["confidence"]`` is at least ``min_confidence`` (a copy)."""
    if "confidence" not in imputed.var:
        raise SpaIMInputError("imputed has no var['confidence']: call model.calibrate() before model.impute().")
    return imputed[:, imputed.var["confidence"].to_numpy() >= min_confidence].copy()


def _bh(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values."""
    n = pvalues.size
    order = np.argsort(pvalues)
    ranked = pvalues[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.clip(adjusted, 0, 1)
    return out


def multiple_imputation_test(
    imputed: ad.AnnData,
    groupby: str,
    group: str,
    n_imputations: int = 20,
    min_confidence: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Difference of mean imputed expression between ``group`` and all other cells, per gene.

    Parameters
    ----------
    imputed
        Output of :meth:`spaim.SpaIM.impute` with ``layers["upper"]`` (not modified).
    groupby, group
        ``obs`` column and the group to compare against the rest.
    n_imputations
        Draws per value (each a normal around the imputed value whose central interval of
        the calibrated coverage equals the imputed interval).
    min_confidence
        Test only genes with at least this ``var["confidence"]``.
    seed
        Seeds the draws.

    Returns
    -------
    One row per gene: ``gene, difference`` (mean log1p in group minus rest), ``se``
    (pooled by Rubin's rules), ``df``, ``statistic``, ``pval``, ``pval_adj`` (BH), sorted by p-value.
    """
    if "upper" not in imputed.layers:
        raise SpaIMInputError("imputed has no interval layers: impute after model.calibrate() with a coverage.")
    if groupby not in imputed.obs:
        raise SpaIMInputError(f"no obs column '{groupby}' (columns: {list(imputed.obs.columns)}): pass the labels column.")
    if n_imputations < 2:
        raise SpaIMInputError(f"n_imputations={n_imputations} must be at least 2: Rubin's rules need a between-draw variance.")
    inside = imputed.obs[groupby].astype(str).to_numpy() == str(group)
    if inside.sum() < 2 or (~inside).sum() < 2:
        raise SpaIMInputError(f"group '{group}' of '{groupby}' needs at least 2 cells inside and 2 outside: pick another group.")
    if min_confidence is not None:
        imputed = confident(imputed, min_confidence)
    values = np.asarray(imputed.X, dtype=np.float64)
    coverage = imputed.uns.get("spaim", {}).get("interval_coverage", 0.9)
    sd = (np.asarray(imputed.layers["upper"], dtype=np.float64) - values) / norm.ppf((1 + coverage) / 2)
    rng = np.random.default_rng(seed)
    estimates, variances = [], []
    for _ in range(n_imputations):
        draw = np.clip(values + rng.standard_normal(values.shape) * sd, 0, None)
        a, b = draw[inside], draw[~inside]
        estimates.append(a.mean(axis=0) - b.mean(axis=0))
        variances.append(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    estimates, variances = np.array(estimates), np.array(variances)
    m = n_imputations
    within, between = variances.mean(axis=0), estimates.var(axis=0, ddof=1)
    total = within + (1 + 1 / m) * between
    share = np.divide((1 + 1 / m) * between, total, out=np.zeros_like(total), where=total > 0)
    df = (m - 1) / np.maximum(share, 1e-12) ** 2
    difference = estimates.mean(axis=0)
    se = np.sqrt(total)
    statistic = np.divide(difference, se, out=np.zeros_like(se), where=se > 0)
    pval = 2 * student_t.sf(np.abs(statistic), df)
    out = pd.DataFrame({"gene": imputed.var_names, "difference": difference, "se": se, "df": df,
                        "statistic": statistic, "pval": pval, "pval_adj": _bh(pval)})
    return out.sort_values("pval", kind="stable", ignore_index=True)
