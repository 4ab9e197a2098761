"""Variants of SpaIM's cell-to-metacell transfer, scored on validation genes nested in the benchmark's training folds (hand-run).

Issue 13 asks for a SpaIM that carries more cell identity than the transfer it keeps today.
This script asks whether three cheap changes to the transfer would do it, without reading
any outer test gene: inside each outer fold of the benchmark (5 folds, seed 0), the
training genes are split into 3 inner folds; the mapping candidates are ranked on the inner
training genes exactly as the package ranks them (5-fold CV over those genes,
:func:`spaim.cell_basis.rank_mappings`, whose first candidate is
the package's single best mapping before 2026-11-27), and each variant
predicts the inner validation genes (library-size normalised log1p, size factors from the
inner training genes). No spatial smoothing, as in the ranking itself.

Variants (columns of the CSV, median PCC over the inner validation genes of one inner fold):

- ``chosen``: the best-ranked candidate (the package's rule);
- ``mean_top2``, ``mean_top3``: the mean of the 2 or 3 best-ranked candidates' assignments;
- ``residual_0.25``, ``residual_0.5``: the chosen transfer plus that share of the cell's
  residuals on the training genes carried to each validation gene by a ridge regression of
  its SC metacell profile on the training genes' profiles (a SpaGE/SPRITE-like correction);
- ``metacells_500``: the chosen transfer with up to 500 metacells (package: 200), the
  reference rebuilt with that cap (only references of more than 1,000 cells change).

    .venv/bin/python benchmarks/transfer_variants.py [--datasets ...]

Writes ``benchmarks/results/transfer_variants.csv`` and prints the mean over inner folds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

import spaim.preprocessing as preprocessing
from spaim.benchmark.methods.spaim import benchmark_fits, inner_folds
from spaim.cell_basis import assignment_of, assignments_of, rank_mappings
from spaim.metrics import column_pcc

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
DATASETS = ("osmfish_cortex", "merfish_hypothalamus", "seqfish_visp_cortex", "slideseq_cerebellum", "visium_lymphnode")
INNER, SEED = 3, 0


def residual_regression(profiles_fit: np.ndarray, profiles_val: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Validation genes x training genes: ridge of each validation profile on the training profiles (over metacells)."""
    x = (profiles_fit - profiles_fit.mean(axis=1, keepdims=True)).T
    y = (profiles_val - profiles_val.mean(axis=1, keepdims=True)).T
    gram = x.T @ x
    penalty = alpha * np.trace(gram) / len(gram)
    return np.linalg.solve(gram + penalty * np.eye(len(gram)), x.T @ y).T


def inner_scores(data, train: np.ndarray, wide) -> list[dict]:
    """One row per inner fold of ``train``: the median validation PCC of each variant (``wide``: the pair with 500 metacells)."""
    units = data.metacells()
    profiles = np.asarray(units.profiles, dtype=np.float64)
    rows = []
    for k, fit, val in inner_folds(train, INNER, SEED):
        st_log = data.st_log(np.arange(len(data.shared_st)), data.st_size_factors(fit)).astype(np.float64)
        truth = st_log[:, val]
        ranked = rank_mappings(st_log, units, fit, seed=SEED)
        top = [w.astype(np.float64) for w in assignments_of(st_log, units, ranked[:3], fit, seed=SEED)]
        row = {"inner": k, "chosen_mapping": f"{ranked[0].kind} {ranked[0].temperature if ranked[0].kind != 'learned' else ranked[0].epochs}"}
        for n, label in ((1, "chosen"), (2, "mean_top2"), (3, "mean_top3")):
            row[label] = np.median(column_pcc(truth, np.mean(top[:n], axis=0) @ profiles[val].T))
        residuals = st_log[:, fit] - top[0] @ profiles[fit].T
        correction = (residuals - residuals.mean(axis=0)) @ residual_regression(profiles[fit], profiles[val]).T
        for share in (0.25, 0.5):
            row[f"residual_{share}"] = np.median(column_pcc(truth, top[0] @ profiles[val].T + share * correction))
        wide_units = wide.metacells()
        mapping = rank_mappings(st_log, wide_units, fit, seed=SEED)[0]
        weights = assignment_of(st_log, wide_units, mapping, fit, seed=SEED)
        row["metacells_500"] = np.median(column_pcc(truth, weights @ np.asarray(wide_units.profiles, np.float64)[val].T))
        rows.append(row)
    return rows


def dataset_rows(name: str) -> pd.DataFrame:
    default_cap = preprocessing.MAX_METACELLS
    fits = list(benchmark_fits(name, 5, SEED))
    preprocessing.MAX_METACELLS = 500
    try:
        wide_fits = list(benchmark_fits(name, 5, SEED))
    finally:
        preprocessing.MAX_METACELLS = default_cap
    tables = []
    for (data, fold, train), (wide, _, _) in zip(fits, wide_fits, strict=True):
        tables.append(pd.DataFrame(inner_scores(data, train, wide)).assign(dataset=name, outer=fold.index))
        print(name, "outer fold", fold.index, flush=True)
    return pd.concat(tables)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args()
    table = pd.concat([dataset_rows(name) for name in args.datasets.split(",")])
    columns = ["dataset", "outer", "inner", "chosen_mapping", "chosen", "mean_top2", "mean_top3", "residual_0.25", "residual_0.5", "metacells_500"]
    table = table[columns]
    RESULTS.mkdir(parents=True, exist_ok=True)
    table.to_csv(RESULTS / "transfer_variants.csv", index=False, float_format="%.5f")
    print(table.groupby("dataset", sort=False)[columns[4:]].mean().round(4).to_string())


if __name__ == "__main__":
    main()
