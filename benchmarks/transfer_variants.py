"""Variants of SpaIM's cell-to-metacell transfer, scored on validation genes nested in the benchmark's training folds (hand-run).

Issue 13 asks for a SpaIM that carries more cell identity than the transfer it keeps today.
This script asks whether three cheap changes to the transfer would do it, without reading
any outer test gene: inside each outer fold of the benchmark (5 folds, seed 0), the
training genes are split into 3 inner folds; the mapping candidates are ranked on the inner
training genes exactly as the package ranks them (5-fold CV over those genes,
:func:`spaim.cell_basis.choose_assignment`'s candidates and scores), and each variant
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
from spaim.benchmark.methods.spaim import benchmark_fits
from spaim.cell_basis import (
    CHOICE_FOLDS,
    MAPPING_EPOCHS,
    TEMPERATURES,
    Mapping,
    Metacells,
    assignment_of,
    cluster_affinity,
    learned_mapping,
    soft_assignment,
)
from spaim.crossval import make_folds
from spaim.metrics import column_pcc

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
DATASETS = ("osmfish_cortex", "merfish_hypothalamus", "seqfish_visp_cortex", "slideseq_cerebellum", "visium_lymphnode")
INNER, SEED = 3, 0


def ranked_candidates(st_log: np.ndarray, units: Metacells, genes: np.ndarray, seed: int = SEED) -> list[Mapping]:
    """The package's mapping candidates, best first by median PCC of a 5-fold CV over ``genes``."""
    candidates = [Mapping(kind, float(t)) for kind in ("clusters", "metacells") for t in TEMPERATURES]
    candidates += [Mapping("learned", epochs=e) for e in MAPPING_EPOCHS]
    scores = np.zeros((len(candidates), len(genes)))
    order = np.random.default_rng(seed).permutation(len(genes))
    for held in np.array_split(order, CHOICE_FOLDS):
        val, fit = genes[held], genes[np.setdiff1d(order, held)]
        predictions = []
        for profiles in (units.cluster_profiles(), units.profiles):
            affinity = cluster_affinity(st_log, profiles, fit)
            predictions += [soft_assignment(affinity, t) @ profiles[val].T for t in TEMPERATURES]
        predictions += [w @ units.profiles[val].T for w in learned_mapping(st_log, units.profiles, units.sizes, fit, seed=seed, epochs=MAPPING_EPOCHS)]
        for c, predicted in enumerate(predictions):
            scores[c, held] = column_pcc(st_log[:, val], predicted)
    return [candidates[c] for c in np.argsort(-np.median(scores, axis=1), kind="stable")]


def residual_regression(profiles_fit: np.ndarray, profiles_val: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Validation genes x training genes: ridge of each validation profile on the training profiles (over metacells)."""
    x = (profiles_fit - profiles_fit.mean(axis=1, keepdims=True)).T
    y = (profiles_val - profiles_val.mean(axis=1, keepdims=True)).T
    gram = x.T @ x
    penalty = alpha * np.trace(gram) / len(gram)
    return np.linalg.solve(gram + penalty * np.eye(len(gram)), x.T @ y).T


def units_of(data) -> Metacells:
    reference = data.reference
    return Metacells(reference.metacell_profiles_of(data.shared_sc), reference.metacell_sizes, reference.metacell_clusters)


def inner_scores(data, train: np.ndarray, wide=None) -> list[dict]:
    """One row per inner fold of ``train``: the median validation PCC of each variant."""
    units = units_of(data)
    profiles = np.asarray(units.profiles, dtype=np.float64)
    rows = []
    for k, local in enumerate(make_folds(len(train), INNER, SEED + 1)):
        val, fit = train[local], np.setdiff1d(train, train[local])
        st_log = data.st_log(np.arange(len(data.shared_st)), data.st_size_factors(fit)).astype(np.float64)
        truth = st_log[:, val]
        ranked = ranked_candidates(st_log, units, fit)
        top = [assignment_of(st_log, units, m, fit, seed=SEED).astype(np.float64) for m in ranked[:3]]
        row = {"inner": k, "chosen_mapping": f"{ranked[0].kind} {ranked[0].temperature if ranked[0].kind != 'learned' else ranked[0].epochs}"}
        for n, label in ((1, "chosen"), (2, "mean_top2"), (3, "mean_top3")):
            row[label] = np.median(column_pcc(truth, np.mean(top[:n], axis=0) @ profiles[val].T))
        residuals = st_log[:, fit] - top[0] @ profiles[fit].T
        correction = (residuals - residuals.mean(axis=0)) @ residual_regression(profiles[fit], profiles[val]).T
        for share in (0.25, 0.5):
            row[f"residual_{share}"] = np.median(column_pcc(truth, top[0] @ profiles[val].T + share * correction))
        if wide is not None:
            wide_units = units_of(wide)
            mapping = ranked_candidates(st_log, wide_units, fit)[0]
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
