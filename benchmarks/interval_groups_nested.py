"""Why TISSUE's intervals are narrower: interval schemes compared on genes nested inside the confidence benchmark's folds.

Hand-run (issue 8), after ``benchmarks/confidence.py`` has cached the held-out predictions:

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/interval_groups_nested.py

For each outer fold of ``benchmarks/confidence.py`` only the other four folds' genes are
used: each of them in turn is scored with intervals calibrated on the remaining three (the
outer fold's genes are never scored). Schemes, all on the same held-out SpaIM predictions:

- ``spaim``: the default of the time (:class:`spaim.confidence.ConformalIntervals`: cell
  group by held-out error (:func:`error_groups`) x gene group x prediction bin, shortest
  window of signed errors; cells are grouped by library size since the fourteenth session,
  ``interval_depth_groups_nested.py``);
- ``spaim symmetric``: the same groups, a window symmetric about the prediction;
- ``tissue``: TISSUE's own calibration (cell-centric variability, kmeans_gene_cell grouping
  with k=4, k2=2, symmetric), as ``benchmarks/confidence.py`` runs it;
- ``pattern groups``: TISSUE's idea made inductive: genes grouped by k-means of their
  predicted patterns over the calibration genes (new genes join the nearest centroid),
  cells split in two within each gene group, errors scaled by 1 + the spread of the
  prediction over the 15 nearest spatial neighbours, symmetric; no prediction bins.

Reported at nominal 90%: coverage, median width, width at 90% empirical coverage
(interpolated over nominal 0.5-0.95), and the lowest and highest coverage over quintiles of
the prediction (the evenness of coverage over expression levels).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from confidence import DATASETS, PLOT_LEVELS, _tissue_intervals, width_at_coverage  # noqa: E402

from spaim import datasets  # noqa: E402
from spaim.confidence.intervals import ConformalIntervals  # noqa: E402
from spaim.crossval import make_folds  # noqa: E402
from spaim.io import atomic_path  # noqa: E402
from spaim.pairing import spatial_coordinates  # noqa: E402

FOLDS, SEED, NOMINAL = 5, 0, 0.9
OUT = Path("benchmarks/results/interval_groups_nested.csv")


def symmetric_window(errors: np.ndarray, coverage: float) -> tuple[float, float]:
    """``[-q, q]`` with q the conformal quantile of ``|errors|``."""
    n = errors.size
    k = int(np.ceil((n + 1) * coverage))
    if n == 0 or k > n:
        return -np.inf, np.inf
    q = float(np.sort(np.abs(errors))[k - 1])
    return -q, q


def error_groups(measured: np.ndarray, predicted: np.ndarray, n_groups: int = 4) -> np.ndarray:
    """ST cells grouped by how hard their held-out panel genes were (quantiles of mean absolute error)."""
    error = np.abs(measured - predicted).mean(axis=1)
    edges = np.unique(np.quantile(error, np.linspace(0, 1, n_groups + 1)[1:-1]))
    return np.digitize(error, edges)


def spaim_bounds(measured, predicted, targets, coverage, symmetric=False, groups=None):
    """The intervals with cells in :func:`error_groups` (or ``groups``), or (``symmetric``) with symmetric windows swapped in for this call."""
    import spaim.confidence.intervals as intervals

    shortest = intervals.conformal_window
    intervals.conformal_window = symmetric_window if symmetric else shortest
    groups = error_groups(measured, predicted) if groups is None else groups
    try:
        return ConformalIntervals.fit(measured, predicted, groups, coverage).bounds(targets)
    finally:
        intervals.conformal_window = shortest


def neighbour_spread(predicted: np.ndarray, coords: np.ndarray, k: int = 15) -> np.ndarray:
    """Root-mean-square difference between each cell's prediction and its k nearest spatial neighbours'."""
    index = NearestNeighbors(n_neighbors=min(k, len(coords))).fit(coords).kneighbors(coords, return_distance=False)
    return np.sqrt(((predicted[index] - predicted[:, None, :]) ** 2).mean(axis=1))


def pattern_bounds(measured, predicted, targets, scale, target_scale, coverage, k_genes=4, k_cells=2):
    scaler = StandardScaler().fit(predicted.T)
    genes = KMeans(n_clusters=k_genes, random_state=SEED, n_init=10).fit(scaler.transform(predicted.T))
    cal_genes, new_genes = genes.labels_, genes.predict(scaler.transform(targets.T))
    scores = (measured - predicted) / scale
    lower, upper = np.empty_like(targets), np.empty_like(targets)
    for g in range(k_genes):
        cells = KMeans(n_clusters=k_cells, random_state=SEED, n_init=10).fit(
            StandardScaler().fit_transform(predicted[:, cal_genes == g])).labels_
        for c in range(k_cells):
            lo, hi = symmetric_window(scores[cells == c][:, cal_genes == g].ravel(), coverage)
            cell = (cells == c)[:, None] & (new_genes == g)[None, :]
            lower[cell] = (targets + lo * target_scale)[cell]
            upper[cell] = (targets + hi * target_scale)[cell]
    return lower, upper


def schemes_of(measured, predicted, coords) -> dict:
    """This study's schemes: calibration and scored genes -> {nominal coverage: (lower, upper) of the scored genes}."""
    spread = 1 + neighbour_spread(predicted, coords)
    return {
        "spaim": lambda cal, val: {c: spaim_bounds(measured[:, cal], predicted[:, cal], predicted[:, val], c)
                                   for c in PLOT_LEVELS},
        "spaim symmetric": lambda cal, val: {c: spaim_bounds(measured[:, cal], predicted[:, cal], predicted[:, val], c, True)
                                             for c in PLOT_LEVELS},
        "pattern groups": lambda cal, val: {c: pattern_bounds(measured[:, cal], predicted[:, cal], predicted[:, val],
                                                              spread[:, cal], spread[:, val], c) for c in PLOT_LEVELS},
        "tissue": lambda cal, val: tissue_bounds(measured, predicted, coords, cal, val),
    }


def nested_stats(name: str, measured, predicted, schemes: dict) -> list[dict]:
    """Per scheme and outer fold: coverage, widths and coverage evenness at nominal 90% on the nested genes."""
    folds = make_folds(measured.shape[1], FOLDS, SEED)
    rows = []
    for scheme, bounds_of in schemes.items():
        for outer in range(FOLDS):
            inner = [f for j, f in enumerate(folds) if j != outer]
            stats = {c: [[], []] for c in PLOT_LEVELS}
            values = []
            for j, val in enumerate(inner):
                cal = np.concatenate([f for i, f in enumerate(inner) if i != j])
                for c, (lower, upper) in bounds_of(cal, val).items():
                    lower = np.clip(lower, 0, None)
                    stats[c][0].append(((measured[:, val] >= lower) & (measured[:, val] <= upper)).ravel())
                    stats[c][1].append((upper - lower).ravel())
                values.append(predicted[:, val].ravel())
            stats = {c: (np.concatenate(v[0]), np.concatenate(v[1])) for c, v in stats.items()}
            values = np.concatenate(values)
            quintile = np.digitize(values, np.quantile(values, [0.2, 0.4, 0.6, 0.8]))
            covered, width = stats[NOMINAL]
            by_level = [covered[quintile == q].mean() for q in range(5)]
            rows.append({"dataset": name, "scheme": scheme, "outer_fold": outer, "coverage_90": covered.mean(),
                         "median_width_90": np.median(width), "width_at_empirical_90": width_at_coverage(stats, NOMINAL),
                         "coverage_90_lowest_quintile": min(by_level), "coverage_90_highest_quintile": max(by_level)})
        print(pd.DataFrame(rows[-FOLDS:]).drop(columns="outer_fold").groupby(["dataset", "scheme"]).mean().round(3).to_string(header=False), flush=True)
    return rows


def tissue_bounds(measured, predicted, coords, cal, val) -> dict:
    import anndata as ad

    columns = np.concatenate([cal, val])
    names = [f"g{i}" for i in columns]
    adata = ad.AnnData(measured[:, columns].copy(), var=pd.DataFrame(index=names))
    adata.obsm["spatial"] = coords
    adata.obsm["spaim"] = pd.DataFrame(predicted[:, columns], columns=names, index=adata.obs_names)
    return _tissue_intervals(adata, "spaim", names[: len(cal)], names[len(cal):], PLOT_LEVELS)


def main() -> None:
    cache = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/confidence")
    rows = []
    for name in DATASETS:
        st, _ = datasets.load(name, None, download=False)
        coords = spatial_coordinates(st)  # the held-out predictions cover every ST cell, in order
        with np.load(cache / f"{name}_heldout.npz") as npz:
            measured, predicted = npz["measured"], npz["pred0"]
        rows += nested_stats(name, measured, predicted, schemes_of(measured, predicted, coords))
    save(rows, OUT)


def save(rows: list[dict], out: Path) -> None:
    """Write the rows of :func:`nested_stats` to ``out`` and print their means over the outer folds."""
    table = pd.DataFrame(rows)
    with atomic_path(out, force=True) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    print(table.drop(columns="outer_fold").groupby(["dataset", "scheme"], sort=False).mean().round(3).to_string())


if __name__ == "__main__":
    main()
