"""Compare training candidates on validation genes nested inside the benchmark's training folds (hand-run).

The benchmark holds out each fold's test genes; here only the training genes of each outer
fold are used: they are split again into inner folds, SpaIM is fitted on the inner training
genes and scored (PCC, library-size-normalised log1p, size factors from the inner training
genes) on the inner validation genes. No outer test gene is read, so a choice made here
leaves every reported benchmark number untouched by it. Each inner fit is set up once (SC
reference, cell basis) and trained once per candidate from the same initial weights.

    .venv/bin/python benchmarks/tune_nested.py [--datasets ...] [--inner 3]

Writes ``benchmarks/results/tune_nested.csv`` (one row per dataset, outer and inner fold and
gene; a PCC column per candidate) and prints the median PCC per candidate and dataset.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import pandas as pd

from spaim import datasets
from spaim.benchmark.methods.spaim import nested_fits
from spaim.metrics import column_pcc
from spaim.model.imputer import SpaIM

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
#: Training candidates (keywords of SpaIM.train), by their column in the CSV: the package default
#: (early stopping on 10% of the genes, the untrained state competing), then a fixed number of
#: epochs on all the fit's genes without early stopping.
CANDIDATES = {
    "default": {},
    "epochs_10": {"max_epochs": 10, "validation_fraction": 0.0},
    "epochs_20": {"max_epochs": 20, "validation_fraction": 0.0},
    "epochs_50": {"max_epochs": 50, "validation_fraction": 0.0},
}


def nested_rows(name: str, inner: int, outer: int = 5, seed: int = 0) -> list[pd.DataFrame]:
    tables = []
    for data, fold, k, fit, truth, genes in nested_fits(name, outer, inner, seed):
        start = SpaIM.from_paired_data(data.subset(fit), seed=seed, threads=1)
        table = pd.DataFrame({"dataset": name, "outer": fold, "inner": k, "gene": genes})
        for label, params in CANDIDATES.items():
            model = copy.deepcopy(start).train(progress=False, **params)
            table[label] = column_pcc(truth, model.predict(genes)).round(5)
        tables.append(table)
        print(name, "outer fold", fold, "inner fold", k, flush=True)
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(sorted(datasets.DATASETS)))
    parser.add_argument("--inner", type=int, default=3)
    args = parser.parse_args()
    tables = []
    for name in args.datasets.split(","):
        tables += nested_rows(name, args.inner)
        pd.concat(tables, ignore_index=True).to_csv(RESULTS / "tune_nested.csv", index=False)
    table = pd.concat(tables, ignore_index=True)
    print(table.groupby("dataset")[list(CANDIDATES)].median().round(4).to_string())


if __name__ == "__main__":
    main()
