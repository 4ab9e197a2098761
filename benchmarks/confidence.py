"""Validate per-gene confidence and per-cell intervals on the bundled datasets, against TISSUE.

Hand-run (issue 8); needs tissue-sc 1.0.1 next to spaim (see PEERS.md), e.g.

    OMP_NUM_THREADS=1 nice -n 10 .venv-bench/bin/python benchmarks/confidence.py

Protocol (normalised scoring): panel genes are split into 5 folds (seed 0); every gene is
predicted by two SpaIM fold models (seeds 0 and 1) that never saw it, and scored against
log1p of its ST counts normalised with size factors from the fold's training genes.
Everything below is nested over the same folds: the fold's genes are scored by a
confidence regression and by intervals calibrated only on the other folds' genes.

- confidence: Spearman correlation between each gene's nested confidence and its held-out PCC;
- SpaIM intervals: group-wise conformal (:mod:`spaim.confidence.intervals`), coverage and
  width on the fold's genes at 80/90/95%;
- TISSUE on the same SpaIM predictions: TISSUE's cell-centric variability and
  kmeans_gene_cell grouping (k=4, k2=2, symmetric), calibrated on the other folds' genes;
- TISSUE-SpaGE: TISSUE's own pipeline (SpaGE, n_pv=10, 10 inner folds over the training
  genes) run on each fold's training genes, intervals for the fold's genes (training genes
  constant in ST or SC are left out: SpaGE's z-scoring makes them NaN).
- conditional coverage: at nominal 90%, the coverage within each quintile of SpaIM's
  held-out prediction (the same split of cells x genes for every method), lowest and highest;
  and the width at 90% reached *within* each quintile, averaged over the five: a method that
  over-covers some expression levels and under-covers others can reach 90% overall with a
  narrower median width than one that covers each level alike, and this compares them at
  the same coverage level by level;
Widths are upper - lower with lower bounds clipped at 0 for every method (measured values
are >= 0, so clipping never changes coverage).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import warnings
from pathlib import Path

import anndata as ad
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from spaim import datasets
from spaim._markdown import markdown_table
from spaim.confidence import FEATURES, ConformalIntervals, HeldOut, cross_predict, nested_confidence
from spaim.confidence.calibrate import depth_groups
from spaim.crossval import fold_arrays, make_folds
from spaim.io import atomic_path
from spaim.metrics import score_genes
from spaim.pairing import prepare_pair
from spaim.pl._figure import save_figure
from spaim.preprocessing import log1p_dense, size_factors
from spaim.validation import expression_matrix

DATASETS = ("osmfish_cortex", "merfish_hypothalamus", "seqfish_visp_cortex", "slideseq_cerebellum", "visium_lymphnode")
COVERAGES = (0.8, 0.9, 0.95)
MATCHED = (0.8, 0.9)  # empirical coverages at which the methods' widths are compared
PLOT_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
FOLDS, SEED = 5, 0


def held_out(name: str, data, cache: Path) -> HeldOut:
    """Two-seed held-out predictions of every panel gene, cached per dataset."""
    path = cache / f"{name}_heldout.npz"
    splits = make_folds(len(data.shared_st), FOLDS, SEED)
    if not path.exists():
        held, _ = cross_predict(data, FOLDS, SEED, ensemble=2, progress=False)
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            np.savez(fh, measured=held.measured, pred0=held.predictions[0], pred1=held.predictions[1])
        return held
    with np.load(path) as npz:
        measured, predictions = npz["measured"], [npz["pred0"], npz["pred1"]]
    pcc = score_genes(measured, predictions[0], data.shared_st)["pcc"].to_numpy()
    return HeldOut(list(data.shared_sc), splits, measured, predictions, pcc)


def interval_stats(measured: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per (cell, gene): covered or not, and width with the lower bound clipped at 0."""
    lower = np.clip(lower, 0, None)
    return (measured >= lower) & (measured <= upper), upper - lower


def width_at_coverage(stats: dict, target: float) -> float:
    """Median width at an empirical coverage of ``target``, interpolated between nominal levels (NaN out of range).

    Methods reach different empirical coverage at the same nominal level; this compares
    their widths at the same coverage actually achieved on held-out genes.
    """
    levels = sorted(stats)
    coverage = np.array([stats[c][0].mean() for c in levels])
    width = np.array([np.median(stats[c][1]) for c in levels])
    if not coverage.min() <= target <= coverage.max() or np.any(np.diff(coverage) <= 0):
        return float("nan")
    return float(np.interp(target, coverage, width))


def spaim_intervals(held: HeldOut, data, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    covered, width = np.zeros(held.measured.shape, bool), np.zeros(held.measured.shape)
    groups = depth_groups(data.st_counts)
    for test in held.folds:
        rest = np.setdiff1d(np.arange(len(held.genes)), test)
        m, p = held.measured[:, rest], held.predictions[0][:, rest]
        lower, upper = ConformalIntervals.fit(m, p, groups, coverage).bounds(held.predictions[0][:, test])
        covered[:, test], width[:, test] = interval_stats(held.measured[:, test], lower, upper)
    return covered, width


def _tissue_intervals(adata: ad.AnnData, key: str, calib: list[str], targets: list[str], coverages) -> dict:
    """TISSUE's calibration of ``adata.obsm[key]`` on ``calib`` genes; bounds of ``targets`` per coverage."""
    from tissue.main import build_spatial_graph, conformalize_prediction_interval, conformalize_spatial_uncertainty

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        build_spatial_graph(adata, method="fixed_radius", n_neighbors=15)
        conformalize_spatial_uncertainty(adata, key, calib_genes=calib, grouping_method="kmeans_gene_cell", k=4, k2=2)
        out = {}
        for coverage in coverages:
            conformalize_prediction_interval(adata, key, calib_genes=calib, alpha_level=1 - coverage, symmetric=True)
            out[coverage] = (adata.obsm[key + "_lo"][targets].to_numpy(), adata.obsm[key + "_hi"][targets].to_numpy())
    return out


def tissue_on_spaim(held: HeldOut, data, coverages) -> dict:
    """TISSUE's calibration applied to the same held-out SpaIM predictions."""
    genes = [g.lower() for g in held.genes]
    stats = {c: (np.zeros(held.measured.shape, bool), np.zeros(held.measured.shape)) for c in coverages}
    for test in held.folds:
        rest = np.setdiff1d(np.arange(len(genes)), test)
        adata = ad.AnnData(held.measured.copy(), var=pd.DataFrame(index=genes))
        adata.obsm["spatial"] = data.st_spatial
        adata.obsm["spaim"] = pd.DataFrame(held.predictions[0], columns=genes, index=adata.obs_names)
        bounds = _tissue_intervals(adata, "spaim", [genes[i] for i in rest], [genes[i] for i in test], coverages)
        for c, (lower, upper) in bounds.items():
            stats[c][0][:, test], stats[c][1][:, test] = interval_stats(held.measured[:, test], lower, upper)
    return stats


def tissue_spage(held: HeldOut, data, sc: ad.AnnData, coverages, path: Path) -> dict:
    """TISSUE's own pipeline (SpaGE predictor) on each fold's training genes (cached: it does not involve SpaIM)."""
    from tissue.main import predict_gene_expression

    if path.exists():
        with np.load(path) as npz:
            return {c: (npz[f"covered_{c}"], npz[f"width_{c}"]) for c in coverages}

    sc_counts = expression_matrix(sc, "SC", None, True)
    sc_log = ad.AnnData(log1p_dense(sc_counts, size_factors(sc_counts)), var=pd.DataFrame(index=[g.lower() for g in sc.var_names]))
    sc_log = sc_log[:, ~sc_log.var_names.duplicated()].copy()
    genes = [g.lower() for g in held.genes]
    stats = {c: (np.zeros(held.measured.shape, bool), np.zeros(held.measured.shape)) for c in coverages}
    for test in held.folds:
        train, _ = fold_arrays(data, test)
        st_train = ad.AnnData(data.st_log(train, data.st_size_factors(train)), var=pd.DataFrame(index=[genes[i] for i in train]))
        st_train.obsm["spatial"] = data.st_spatial
        # SpaGE z-scores every shared gene: constant ones (e.g. never detected in ST) would be NaN
        varies = (st_train.X.std(axis=0) > 0) & (sc_log[:, st_train.var_names].X.std(axis=0) > 0)
        st_train = st_train[:, varies].copy()
        targets, calib = [genes[i] for i in test], list(st_train.var_names)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            predict_gene_expression(st_train, sc_log.copy(), targets, conf_genes=calib, method="spage", n_folds=10, n_pv=10)
        bounds = _tissue_intervals(st_train, "spage_predicted_expression", calib, targets, coverages)
        for c, (lower, upper) in bounds.items():
            stats[c][0][:, test], stats[c][1][:, test] = interval_stats(held.measured[:, test], lower, upper)
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        np.savez(fh, **{f"covered_{c}": v[0] for c, v in stats.items()}, **{f"width_{c}": v[1] for c, v in stats.items()})
    return stats


def plot(name: str, panel: pd.DataFrame, curves: dict, path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for label, values in curves.items():
        axes[0].plot(PLOT_LEVELS, values, marker="o", label=label)
    axes[0].plot([0.4, 1], [0.4, 1], color="grey", lw=0.8, ls="--")
    axes[0].set(xlabel="nominal coverage", ylabel="empirical coverage (held-out genes)", title=f"{name}: intervals")
    axes[0].legend(fontsize=8)
    axes[1].scatter(panel["confidence"], panel["pcc"], s=10)
    lo, hi = min(panel["confidence"].min(), panel["pcc"].min()), max(panel["confidence"].max(), panel["pcc"].max())
    axes[1].plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls="--")
    rho = spearmanr(panel["confidence"], panel["pcc"])[0]
    axes[1].set(xlabel="predicted confidence (nested)", ylabel="held-out PCC", title=f"Spearman {rho:.2f}, {len(panel)} genes")
    fig.tight_layout()
    save_figure(fig, path)


def run(name: str, data_dir: str | None, cache: Path, out: Path, skip_tissue: bool) -> tuple[list[dict], pd.DataFrame]:
    st, sc = datasets.load(name, data_dir, download=False)
    data = prepare_pair(st, sc, normalize=True, allow_non_integer=True, seed=SEED)
    start = time.perf_counter(), time.process_time()
    held = held_out(name, data, cache)
    panel = nested_confidence(data, held)
    rows = [{"dataset": name, "method": "spaim confidence", "genes": len(panel),
             "spearman": spearmanr(panel["confidence"], panel["pcc"])[0], "median_pcc": panel["pcc"].median()}]
    rows[0] |= {f"rho_{f}": spearmanr(panel[f], panel["pcc"])[0] for f in FEATURES}
    levels = sorted(set(PLOT_LEVELS) | set(COVERAGES))
    # Conditional coverage: the (cell, gene) values split by quintile of SpaIM's prediction, the same split for every method.
    quintile = np.digitize(held.predictions[0], np.quantile(held.predictions[0], [0.2, 0.4, 0.6, 0.8]))
    methods = {"spaim": {c: spaim_intervals(held, data, c) for c in levels}}
    if not skip_tissue:
        methods["tissue on spaim"] = tissue_on_spaim(held, data, levels)
        methods["tissue-spage"] = tissue_spage(held, data, sc, levels, cache / f"{name}_tissue_spage.npz")
    for method, stats in methods.items():
        row = {"dataset": name, "method": f"{method} intervals", "genes": len(panel)}
        for c in COVERAGES:
            covered, width = stats[c]
            row[f"coverage_{int(c * 100)}"] = covered.mean()
            row[f"median_width_{int(c * 100)}"] = np.median(width)
        row |= {f"width_at_empirical_{int(c * 100)}": width_at_coverage(stats, c) for c in MATCHED}
        by_level = [stats[0.9][0][quintile == k].mean() for k in range(5)]
        row |= {"coverage_90_lowest_quintile": min(by_level), "coverage_90_highest_quintile": max(by_level)}
        within = [width_at_coverage({c: (v[0][quintile == k], v[1][quintile == k]) for c, v in stats.items()}, 0.9)
                  for k in range(5)]
        row["width_at_empirical_90_within_quintiles"] = float(np.mean(within))
        rows.append(row)
    curves = {m: [stats[c][0].mean() for c in PLOT_LEVELS] for m, stats in methods.items()}
    plot(name, panel, curves, out / f"calibration_{name}.png")
    wall, cpu = time.perf_counter() - start[0], time.process_time() - start[1]
    print(f"{name}: {len(panel)} genes, evaluation {wall:.0f} s wall, {cpu:.0f} s CPU", flush=True)
    return rows, panel.reset_index().assign(dataset=name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cache", default="runs/confidence", help="held-out predictions are cached here")
    parser.add_argument("--out", default="docs/confidence")
    parser.add_argument("--skip-tissue", action="store_true")
    args = parser.parse_args()
    cache, out = Path(args.cache), Path(args.out)
    cache.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    rows, panels = [], []
    for name in args.datasets.split(","):
        r, p = run(name, args.data_dir, cache, out, args.skip_tissue)
        rows += r
        panels.append(p)
        summary = pd.DataFrame(rows)
        with atomic_path(out / "summary.csv", force=True) as tmp:
            summary.to_csv(tmp, index=False, float_format="%.4f")
        with atomic_path(out / "per_gene.csv", force=True) as tmp:
            pd.concat(panels).to_csv(tmp, index=False, float_format="%.4f")
    with atomic_path(out / "results.md", force=True) as tmp:
        tmp.write_text(results_markdown(pd.DataFrame(rows)))
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def results_markdown(summary: pd.DataFrame) -> str:
    """The two result tables: confidence vs held-out PCC, and interval coverage and width."""
    confidence = summary[summary["method"] == "spaim confidence"].dropna(axis=1, how="all").drop(columns="method")
    intervals = summary[summary["method"] != "spaim confidence"].dropna(axis=1, how="all")
    return (
        "# Confidence and intervals: results\n\nWritten by `benchmarks/confidence.py`; see ../confidence.md.\n\n"
        "## Spearman correlation of nested confidence (and of each feature) with held-out PCC\n\n"
        f"{markdown_table(confidence)}\n\n## Interval coverage and median width on held-out genes\n\n"
        f"{markdown_table(intervals)}\n"
    )


if __name__ == "__main__":
    main()
