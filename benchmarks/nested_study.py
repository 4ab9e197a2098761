"""Shared loop of the hand-run model studies on nested validation genes (``*_nested.py``).

Protocol (that of ``benchmarks/tune_nested.py``): in each outer fold of the benchmark (5
folds, seed 0) the training genes are split into 3 inner folds
(:func:`spaim.benchmark.methods.spaim.nested_fits`); SpaIM is fitted on each inner fold's
training genes with the package defaults, once per candidate, and scored on the inner
validation genes (library-size normalised log1p). No outer test gene is read.

Rule, set before each run: a candidate is adopted if its median PCC (mean over outer x inner
folds) beats the default's on at least 4 of the 5 datasets, the mean over datasets gains at
least 0.005 and no dataset loses more than 0.005.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from spaim.benchmark.methods.spaim import nested_fits
from spaim.benchmark.scoring import cell_pcc
from spaim.datasets import DATASETS
from spaim.metrics import column_pcc
from spaim.model.imputer import SpaIM

RESULTS = Path(__file__).resolve().parent / "results"
#: A candidate: what to patch while it is fitted (a context manager factory) and its training keywords.
Candidate = tuple[Callable[[], contextlib.AbstractContextManager], dict]


def scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Median and mean PCC over the validation genes and the cell-wise PCC across them."""
    pcc = column_pcc(truth, predicted)
    return {"median_pcc": float(np.median(pcc)), "mean_pcc": float(np.mean(pcc)), "cell_pcc": cell_pcc(truth, predicted)}


def candidate_rows(
    name: str, candidates: Mapping[str, Candidate], describe: Callable[[SpaIM], dict] = lambda model: {}
) -> pd.DataFrame:
    """One row per inner fit and candidate of dataset ``name``: scores, epochs, CPU seconds and ``describe(model)``."""
    rows = []
    for data, outer, k, fit, truth, genes in nested_fits(name):
        for label, (context, params) in candidates.items():
            start = time.process_time()
            with context():
                model = SpaIM.from_paired_data(data.subset(fit), seed=0, threads=1).train(progress=False, **params)
                row = scores(truth, model.predict(genes))
            rows.append({"dataset": name, "outer": outer, "inner": k, "candidate": label, **row,
                         "epochs": len(model.history), **describe(model), "cpu_s": round(time.process_time() - start, 2)})
        print(name, "outer fold", outer, "inner fold", k, flush=True)
    return pd.DataFrame(rows)


def write(tables: Iterable[pd.DataFrame], stem: str, names: list[str], by: str = "candidate") -> None:
    """Save the tables of datasets ``names`` as ``results/STEM.csv`` (``STEM_<datasets>.csv`` for some datasets) and print the means by ``by``."""
    table = pd.concat(tables, ignore_index=True)
    suffix = "" if sorted(names) == sorted(DATASETS) else "_" + "_".join(names)
    table.to_csv(RESULTS / f"{stem}{suffix}.csv", index=False)
    columns = [c for c in table.columns if c not in ("dataset", "outer", "inner", by) and table[c].dtype.kind in "fi"]
    print(table.groupby(["dataset", by])[columns].mean().unstack(by).round(4).to_string())


def run(stem: str, candidates: Mapping[str, Candidate], describe: Callable[[SpaIM], dict] = lambda model: {}) -> None:
    """A study's command line: the datasets named in ``sys.argv`` (default: all five), each candidate fitted and scored."""
    names = sys.argv[1:] or sorted(DATASETS)
    write((candidate_rows(name, candidates, describe) for name in names), stem, names)
