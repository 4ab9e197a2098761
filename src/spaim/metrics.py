"""Per-gene imputation metrics, exactly as defined in the project's METRICS.md.

Every metric compares the measured vector ``x`` and the predicted vector ``y`` of one
gene over the same ST cells, on the same scale (log1p of counts by default).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

LN2 = float(np.log(2.0))
METRIC_NAMES = ("pcc", "ssim", "rmse", "js")
#: Value given to a gene whose prediction is missing, NaN or infinite.
WORST = {"pcc": 0.0, "ssim": 0.0, "rmse": 2.0, "js": LN2}
#: True where a larger value is better.
HIGHER_IS_BETTER = {"pcc": True, "ssim": True, "rmse": False, "js": False}


def _as_vector(v) -> np.ndarray:
    return np.asarray(v, dtype=np.float64).ravel()


def pcc(x, y) -> float:
    """Pearson correlation; 0 when either vector is constant."""
    x, y = _as_vector(x), _as_vector(y)
    xc, yc = x - x.mean(), y - y.mean()
    denom = np.sqrt((xc**2).sum() * (yc**2).sum())
    if denom == 0:
        return 0.0
    return float(np.clip((xc * yc).sum() / denom, -1.0, 1.0))


def column_pcc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``a`` with the same column of ``b`` (0 where one is constant)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    ac, bc = a - a.mean(axis=0), b - b.mean(axis=0)
    denom = np.sqrt((ac**2).sum(axis=0) * (bc**2).sum(axis=0))
    return np.clip(np.divide((ac * bc).sum(axis=0), denom, out=np.zeros(a.shape[1]), where=denom > 0), -1.0, 1.0)


def ssim(x, y) -> float:
    """Global-window SSIM of the max-scaled vectors (negative predictions clipped to 0)."""
    x, y = np.clip(_as_vector(x), 0, None), np.clip(_as_vector(y), 0, None)
    x = x / x.max() if x.max() > 0 else x
    y = y / y.max() if y.max() > 0 else y
    c1, c2 = 0.01**2, 0.03**2
    mx, my = x.mean(), y.mean()
    vx, vy = x.var(), y.var()
    cov = ((x - mx) * (y - my)).mean()
    return float(((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2)))


def rmse(x, y) -> float:
    """RMSE of the z-scored vectors; sqrt(2) when either vector is constant."""
    x, y = _as_vector(x), _as_vector(y)
    if x.std() == 0 or y.std() == 0:
        return float(np.sqrt(2.0))
    zx = (x - x.mean()) / x.std()
    zy = (y - y.mean()) / y.std()
    return float(np.sqrt(np.mean((zx - zy) ** 2)))


def js(x, y) -> float:
    """Jensen-Shannon divergence (natural log) of the vectors normalised to sum 1."""
    x, y = np.clip(_as_vector(x), 0, None), np.clip(_as_vector(y), 0, None)
    sx, sy = x.sum(), y.sum()
    if sx == 0 and sy == 0:
        return 0.0
    if sx == 0 or sy == 0:
        return LN2
    p, q = x / sx, y / sy
    m = (p + q) / 2
    return float(0.5 * _kl(p, m) + 0.5 * _kl(q, m))


def _kl(p: np.ndarray, m: np.ndarray) -> float:
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / m[nz])))


_FUNCTIONS = {"pcc": pcc, "ssim": ssim, "rmse": rmse, "js": js}


def score_gene(x, y) -> dict[str, float]:
    """All four metrics for one gene; a prediction with NaN/Inf gets the worst values."""
    y = _as_vector(y)
    if y.size == 0 or not np.all(np.isfinite(y)):
        return dict(WORST)
    return {name: fn(x, y) for name, fn in _FUNCTIONS.items()}


def score_genes(
    measured: np.ndarray,
    predicted: np.ndarray | None,
    genes: Sequence[str],
) -> pd.DataFrame:
    """Score every gene (column) of ``measured`` against ``predicted``.

    Parameters
    ----------
    measured, predicted
        Cells x genes arrays on the same scale; ``predicted`` may be ``None`` (a method
        that returned nothing), which gives every gene the worst values.
    genes
        Gene names, one per column.

    Returns
    -------
    One row per gene with columns ``gene, pcc, ssim, rmse, js``.
    """
    measured = np.asarray(measured)
    rows = []
    for j, gene in enumerate(genes):
        if predicted is None:
            scores = dict(WORST)
        else:
            scores = score_gene(measured[:, j], np.asarray(predicted)[:, j])
        rows.append({"gene": gene, **scores})
    return pd.DataFrame(rows, columns=["gene", *METRIC_NAMES])


def summarize(per_gene: pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Median and mean of each metric, optionally per group (e.g. ``"method"``)."""
    cols = [m for m in METRIC_NAMES if m in per_gene]
    if by is None:
        agg = per_gene[cols].agg(["median", "mean"])
        return pd.DataFrame({f"{stat}_{m}": [agg.loc[stat, m]] for m in cols for stat in ("median", "mean")})
    agg = per_gene.groupby(by)[cols].agg(["median", "mean"])
    agg.columns = [f"{stat}_{m}" for m, stat in agg.columns]
    return agg.reset_index()


def accuracy_score(mean_metrics: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """ACC of N methods on one dataset from each method's mean PCC, SSIM, RMSE and JS.

    Parameters
    ----------
    mean_metrics
        ``{method: {"pcc": .., "ssim": .., "rmse": .., "js": ..}}`` (means over genes).

    Returns
    -------
    ``{method: acc}`` with values in ``[1/N, 1]``.
    """
    ranks = scaled_ranks(mean_metrics)
    return {method: float(np.mean(list(r.values()))) for method, r in ranks.items()}


def scaled_ranks(mean_metrics: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per-metric rank of each method from worst (1) to best (N), ties averaged, divided by N."""
    methods = list(mean_metrics)
    n = len(methods)
    out: dict[str, dict[str, float]] = {m: {} for m in methods}
    for metric in METRIC_NAMES:
        values = pd.Series({m: mean_metrics[m][metric] for m in methods}, dtype=float)
        ranks = values.rank(method="average", ascending=HIGHER_IS_BETTER[metric])
        for m in methods:
            out[m][metric] = float(ranks[m] / n)
    return out
