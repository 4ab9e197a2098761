"""A cell-level loss term (cell-wise correlation across a batch's genes), on nested validation genes (hand-run).

Issue 13 names a cell-level loss among the ways to make SpaIM carry cell identity: besides
the per-gene losses (which cells express a gene), a term on the cell-wise correlation of the
generated and measured batch across its genes, each gene z-scored over cells first
(:func:`spaim.model.losses.cell_loss`, weight ``cell_weight``).

Protocol of ``benchmarks/tune_nested.py``: in each outer fold of the benchmark (5 folds,
seed 0) the training genes are split into 3 inner folds; a model is fitted on each inner
fold's training genes with the package defaults (early stopping on 10% of them) and scored
on the inner validation genes (library-size normalised log1p). No outer test gene is read.
Candidates: ``cell_weight`` 0 (the default), 0.5 and 1.

Rule set before the run: a candidate is adopted if its median PCC (mean over outer x inner
folds) beats the default's on at least 4 of the 5 datasets, the mean over datasets gains at
least 0.005 and no dataset loses more than 0.005; of two that pass, the higher mean. The
cell-wise PCC of the validation genes (as the benchmark's ``cell_pcc``) is reported beside.

Result (2026-11-27, ``results/cell_loss_nested.csv``, median PCC minus the default's on
MERFISH / osmFISH / seqFISH / Slide-seq / Visium): ``cell_0.5`` -0.0005 / -0.0013 / -0.0004 /
+0.0006 / -0.0000 (mean -0.0003, 1 of 5 higher); ``cell_1`` -0.0020 / -0.0015 / -0.0003 /
-0.0015 / -0.0000 (mean -0.0011, none higher). The cell-wise PCC of the validation genes
moves by -0.0019 to +0.0006 under either weight. Rejected: the cells' identity in the
generated profiles comes from the fixed transfer (each cell's weights on the SC metacells),
which the loss cannot move; the learned departure it can move is small beside it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cell_loss_nested.py [DATASET ...]  (default: all five)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from spaim.benchmark.methods.spaim import nested_fits
from spaim.benchmark.scoring import cell_pcc
from spaim.datasets import DATASETS
from spaim.metrics import column_pcc
from spaim.model.imputer import SpaIM

RESULTS = Path(__file__).resolve().parent / "results"
CANDIDATES = {"default": 0.0, "cell_0.5": 0.5, "cell_1": 1.0}


def nested_rows(name: str) -> pd.DataFrame:
    rows = []
    for data, outer, k, fit, truth, genes in nested_fits(name):
        for label, weight in CANDIDATES.items():
            start = time.process_time()
            model = SpaIM.from_paired_data(data.subset(fit), seed=0, threads=1).train(progress=False, cell_weight=weight)
            predicted = model.predict(genes)
            pcc = column_pcc(truth, predicted)
            rows.append({"dataset": name, "outer": outer, "inner": k, "candidate": label,
                         "median_pcc": float(np.median(pcc)), "mean_pcc": float(np.mean(pcc)),
                         "cell_pcc": cell_pcc(truth, predicted), "epochs": len(model.history),
                         "cpu_s": round(time.process_time() - start, 2)})
        print(name, "outer fold", outer, "inner fold", k, flush=True)
    return pd.DataFrame(rows)


def main(names: list[str]) -> None:
    table = pd.concat([nested_rows(name) for name in names], ignore_index=True)
    table.to_csv(RESULTS / "cell_loss_nested.csv", index=False)
    summary = table.groupby(["dataset", "candidate"])[["median_pcc", "mean_pcc", "cell_pcc", "epochs", "cpu_s"]].mean().unstack("candidate")
    print(summary.round(4).to_string())


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(DATASETS))
