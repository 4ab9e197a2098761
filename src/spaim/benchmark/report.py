"""Tables and the markdown report of a benchmark run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from spaim._markdown import markdown_table
from spaim.benchmark.methods import NOT_AVAILABLE, method_class
from spaim.benchmark.protocol import DatasetResult
from spaim.metrics import METRIC_NAMES, accuracy_score, summarize

SUMMARY_COLUMNS = [
    "dataset", "method", "status",
    *[f"{stat}_{m}" for m in METRIC_NAMES for stat in ("median", "mean")],
    "acc", "wall_s", "peak_mb",
]


def per_gene_table(results: list[DatasetResult]) -> pd.DataFrame:
    """``dataset, method, fold, gene, pcc, ssim, rmse, js`` for every method that ran."""
    tables = [r.per_gene() for r in results]
    return pd.concat([t for t in tables if len(t)], ignore_index=True) if any(len(t) for t in tables) else pd.DataFrame(
        columns=["dataset", "method", "fold", "gene", *METRIC_NAMES]
    )


def summary_table(results: list[DatasetResult], per_gene: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset and method; failed methods keep their row, with the error as status."""
    rows = []
    for result in results:
        scores = per_gene[per_gene["dataset"] == result.spec.name]
        stats = summarize(scores, by="method").set_index("method") if len(scores) else pd.DataFrame()
        means = {m: {k: stats.loc[m, f"mean_{k}"] for k in METRIC_NAMES} for m in stats.index}
        acc = accuracy_score(means) if means else {}
        for method, run in result.runs.items():
            row = {"dataset": result.spec.name, "method": method, "status": run.status, "acc": acc.get(method, np.nan),
                   "wall_s": run.wall_s, "peak_mb": run.peak_mb}
            if method in stats.index:
                row |= stats.loc[method].to_dict()
            rows.append(row)
    return pd.DataFrame(rows).reindex(columns=SUMMARY_COLUMNS)


def best_peer(summary: pd.DataFrame, dataset: str, reference: str = "spaim") -> str | None:
    """The method other than ``reference`` with the highest median PCC on ``dataset``."""
    rows = summary[(summary["dataset"] == dataset) & (summary["status"] == "ok") & (summary["method"] != reference)]
    return None if rows.empty else str(rows.loc[rows["median_pcc"].idxmax(), "method"])


def write_report(
    path: Path, summary: pd.DataFrame, figures: dict[str, list[str]], command: str, folds: int, seed: int,
    options: dict[str, dict] | None = None,
) -> None:
    """``report.md``: the protocol, each method's preprocessing and settings, results per dataset, failures."""
    methods = list(dict.fromkeys(summary["method"]))
    lines = [
        "# SpaIM benchmark against peer methods", "",
        f"Regenerate with `{command}`.", "",
        "## Protocol", "",
        f"For each dataset the genes shared by ST and SC are split into {folds} folds (shuffled K-fold, seed {seed}). "
        "Every method gets the same ST and SC objects (raw values as stored) and the same folds; for each fold it sees the "
        "ST cells' training genes and the whole SC reference and predicts the held-out genes for every ST cell. "
        "Predictions are scored against the measured log1p counts with `spaim.metrics` (PCC, SSIM, RMSE on z-scores, "
        "JS divergence; METRICS.md). ACC ranks the methods that ran on the mean of each metric. Each method runs in its "
        "own process: `wall_s` is its time in set-up, fitting and prediction summed over folds (interpreter start and "
        "imports excluded), `peak_mb` the largest peak resident memory (VmHWM) of that process.", "",
        "## Methods", "",
        "| method | takes | returns | brought to log1p for scoring | settings |", "| --- | --- | --- | --- | --- |",
    ]
    for name in methods:
        m = method_class(name)
        overrides = (options or {}).get(name)
        settings = m.settings + (f"; **this run:** {overrides}" if overrides else "")
        lines.append(f"| {name} | {m.preprocessing.takes} | {m.preprocessing.returns} | {m.preprocessing.to_log1p} | {settings} |")
    lines += ["", "Not run: " + "; ".join(f"{k}: {v}" for k, v in NOT_AVAILABLE.items()) + ".", ""]
    lines += [
        "SpaIM runs with the package defaults. The open choices of METHOD.md (cluster means vs medians, LayerNorm vs "
        "BatchNorm, generator target, widths, depth, resolution, patience) were settled before any benchmark run, on "
        "validation genes inside the training genes of fold 0 of a 10-fold split of four datasets "
        "(`benchmarks/tune_defaults.py`, results in `benchmarks/results/tune_defaults_round*.csv`); test folds were never "
        f"used. Threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')} for every method.", "",
    ]
    for dataset, rows in summary.groupby("dataset", sort=False):
        lines += [f"## {dataset}", "", markdown_table(rows.drop(columns="dataset")), ""]
        lines += [f"![{Path(f).stem}]({f})" for f in figures.get(dataset, [])] + [""]
    failed = summary[summary["status"] != "ok"]
    if len(failed):
        lines += ["## Failures", ""] + [f"- {r.dataset} / {r.method}: {r.status}" for r in failed.itertuples()] + [""]
    path.write_text("\n".join(lines))
