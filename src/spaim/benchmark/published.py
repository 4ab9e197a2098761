"""The scoring of Li et al. 2022 (Nature Methods), for comparing with their published tables.

Their pipeline (``Benchmarking/GenesMetrics.py`` and the metrics cells of the notebook that
made their Figure 2, ``BLAST_GenePrediction.ipynb``, QuKunLab/SpatialBenchmarking) compares
each gene's raw ST counts with the prediction *as the method returned it*: no log1p, no
library-size normalisation. Each metric first rescales both vectors its own way:

- PCC: none (Pearson of counts against the prediction);
- SSIM: each vector divided by its maximum, then a global-window SSIM whose constants use
  ``L = M``, the smaller of the two rescaled maxima (their code picks the smaller: 1 in
  practice);
- RMSE: each vector z-scored (population standard deviation);
- JS: each vector divided by its sum, then the Jensen-Shannon divergence (natural log) with
  ``scipy.stats.entropy``, which renormalises its arguments.

NaN left by a rescaling (0 / 0) becomes 1e-20, and a gene the method did not return gets
PCC 0, SSIM 0, RMSE 1.5 and JS 1, as in the notebook. These differ from
:mod:`spaim.metrics` (log1p scale, clipping, constant-vector conventions); use this module
only to put our numbers beside theirs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from spaim.errors import SpaIMInputError
from spaim.preprocessing import Matrix

#: Values their notebook gives a gene missing from a method's output.
MISSING = {"pcc": 0.0, "ssim": 0.0, "rmse": 1.5, "js": 1.0}
#: What their code puts in place of NaN (``fillna(1e-20)``).
FILL = 1e-20


def _filled(v: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(v), FILL, v)


def _scaled(v: np.ndarray, by: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return _filled(v / by)


def pcc(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation (``scipy.stats.pearsonr``'s value); NaN when either vector is constant."""
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc**2).sum() * (yc**2).sum())
    if denom == 0:
        return float("nan")
    return float(np.clip((xc * yc).sum() / denom, -1.0, 1.0))


def ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Their ``cal_ssim`` on the max-scaled vectors: luminance x contrast x structure."""
    x, y = _scaled(x, x.max()), _scaled(y, y.max())
    top = x.max() if x.max() <= y.max() else y.max()  # their `[max1, max2][max1 > max2]`: the smaller
    c1, c2 = (0.01 * top) ** 2, (0.03 * top) ** 2
    c3 = c2 / 2
    mx, my = x.mean(), y.mean()
    sx, sy = np.sqrt(((x - mx) ** 2).mean()), np.sqrt(((y - my) ** 2).mean())
    sxy = ((x - mx) * (y - my)).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        lum = (2 * mx * my + c1) / (mx**2 + my**2 + c1)
        con = (2 * sx * sy + c2) / (sx**2 + sy**2 + c2)
        struct = (sxy + c3) / (sx * sy + c3)
    return float(lum * con * struct)


def rmse(x: np.ndarray, y: np.ndarray) -> float:
    """RMSE of the z-scored vectors (``scipy.stats.zscore``: population standard deviation)."""
    zx, zy = _scaled(x - x.mean(), x.std()), _scaled(y - y.mean(), y.std())
    return float(np.sqrt(((zx - zy) ** 2).mean()))


def js(x: np.ndarray, y: np.ndarray) -> float:
    """Jensen-Shannon divergence of the sum-scaled vectors, through ``scipy.stats.entropy``."""
    p, q = _scaled(x, x.sum()), _scaled(y, y.sum())
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(0.5 * stats.entropy(p, m) + 0.5 * stats.entropy(q, m))


def score_published(measured_counts: Matrix, predictions: np.ndarray, genes: list[str]) -> pd.DataFrame:
    """Per-gene PCC, SSIM, RMSE and JS as Li et al. 2022 computed them.

    Parameters
    ----------
    measured_counts
        ST cells x genes, raw counts (dense or sparse).
    predictions
        ST cells x the same genes, as the method returned them (any scale). A column that is
        entirely NaN is a gene the method did not return.
    genes
        Gene names, one per column.

    Returns
    -------
    One row per gene: ``gene, pcc, ssim, rmse, js``.
    """
    truth = measured_counts.toarray() if hasattr(measured_counts, "toarray") else np.asarray(measured_counts)
    truth = np.asarray(truth, dtype=np.float64)
    pred = np.asarray(predictions, dtype=np.float64)
    if truth.shape != pred.shape or truth.shape[1] != len(genes):
        raise SpaIMInputError(
            f"measured counts {truth.shape}, predictions {pred.shape} and {len(genes)} genes do not match: "
            "pass cells x genes arrays of the same shape and one name per column."
        )
    rows = []
    for j, gene in enumerate(genes):
        x, y = _filled(truth[:, j]), pred[:, j]
        if np.isnan(y).all():
            rows.append({"gene": gene, **MISSING})
            continue
        y = _filled(y)
        rows.append({"gene": gene, "pcc": pcc(x, y), "ssim": ssim(x, y), "rmse": rmse(x, y), "js": js(x, y)})
    return pd.DataFrame(rows, columns=["gene", "pcc", "ssim", "rmse", "js"])
