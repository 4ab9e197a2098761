"""Which benchmark folds keep SpaIM's untrained state (hand-run, not a test).

With the default ``cellbasis`` architecture the generator starts as plain transfer (each
ST cell's mixture of the gene's SC metacell profiles; the gate on the learned departure starts at 0)
and that untrained state competes in early stopping. This script refits SpaIM on the
benchmark's own folds (same inputs, genes, folds and seed as ``spaim benchmark``'s
``spaim`` row) and records, per fold, how many epochs ran, whether the kept weights are
the untrained ones, the mapping chosen, and the best validation loss the trained epochs
reached. Writes ``benchmarks/results/early_stopping.csv`` and prints a summary.

    .venv/bin/python benchmarks/early_stopping.py [--datasets osmfish_cortex,...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from spaim import datasets
from spaim.benchmark.methods.spaim import benchmark_fits, kept_untrained_transfer
from spaim.model.imputer import SpaIM

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def fold_rows(name: str, folds: int = 5, seed: int = 0) -> list[dict]:
    rows = []
    for data, fold, train in benchmark_fits(name, folds, seed):
        model = SpaIM.from_paired_data(data.subset(train), seed=seed, threads=1).train(progress=False)
        history = model.history
        rows.append({"dataset": name, "fold": fold.index, "training_genes": len(train), "epochs_run": len(history),
                     "kept_untrained": kept_untrained_transfer(model), "mapping": model.module_params["mapping"],
                     "best_validation_of_trained_epochs": float(history["validation"].min())})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(sorted(datasets.DATASETS)))
    args = parser.parse_args()
    table = pd.DataFrame([row for name in args.datasets.split(",") for row in fold_rows(name)])
    table.to_csv(RESULTS / "early_stopping.csv", index=False)
    print(table.groupby("dataset")["kept_untrained"].agg(["sum", "size"]).to_string())


if __name__ == "__main__":
    main()
