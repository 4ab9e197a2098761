"""Tiles against one model (hand-run, not a test): per-gene accuracy and time as Dask workers are added.

On a real bundled pair, every shared gene is held out once (K folds). Each fold is imputed
by one model over the whole slide and by ``T`` spatial tiles, one model each
(:mod:`spaim.tiles`: the slide's size factors and cell basis made once, one model per
tile); the tile runs are repeated in this process, and on a local Dask cluster of 1 and of
2 workers, to see how wall time falls with workers. Writes
``benchmarks/results/tiles_<dataset>_<architecture>.csv`` (per gene, and ``_time.csv``) and
rewrites ``docs/tiles.md`` from every such pair of files.

    .venv/bin/python benchmarks/tiles.py [--dataset osmfish_cortex] [--tiles 4] [--folds 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from spaim import datasets
from spaim._markdown import markdown_table, write_keeping_findings
from spaim.crossval import fold_arrays, make_folds, run_folds, spaim_predictor
from spaim.metrics import score_genes
from spaim.pairing import prepare_pair
from spaim.tiles import INLINE, TileJob, impute_tiles, spatial_tiles

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "tiles.md"
#: Headings of the result sets (file stems after the dataset); ``paper-old-defaults`` was run
#: before the defaults changed to normalize=True and generator_target="measured" (then
#: normalize=False, "reconstruction"); ``cellbasis-own-basis`` before the tiles shared the
#: slide's size factors and cell basis (each tile normalised and matched on its own cells).
LABELS = {
    "cellbasis": '`architecture="cellbasis"` (default)',
    "paper": '`architecture="paper"`',
    "cellbasis-own-basis": '`architecture="cellbasis"`, earlier tiles: each tile its own size factors and cell basis '
                           '(an earlier model, commit d420ba7)',
    "paper-old-defaults": '`architecture="paper"`, earlier defaults (normalize=False, generator_target="reconstruction")',
}


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def tiled_folds(data, folds, n_tiles, scheduler, epochs, architecture, seed=0) -> pd.DataFrame:
    tiles = spatial_tiles(data.st_spatial, n_tiles)
    tables = []
    for k, test in enumerate(folds):
        train, measured = fold_arrays(data, test)
        job = TileJob(genes=[data.shared_sc[i] for i in test], seed=seed, threads=1, model_params={"architecture": architecture},
                      train_params={"max_epochs": epochs} if epochs else {})
        predicted = impute_tiles(data.subset(train), tiles, job, scheduler=scheduler, progress=False).X
        table = score_genes(measured, predicted, [data.shared_st[i] for i in test])
        tables.append(table.assign(fold=k))
    return pd.concat(tables, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="osmfish_cortex", choices=sorted(datasets.DATASETS))
    parser.add_argument("--tiles", type=int, default=4)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, help="cap epochs (default: SpaIM's default)")
    parser.add_argument("--workers", default="1,2", help="Dask worker counts to time")
    parser.add_argument("--architecture", default="cellbasis", choices=("cellbasis", "paper"))
    parser.add_argument("--report", action="store_true", help="only rewrite docs/tiles.md from the CSVs")
    args = parser.parse_args()
    if args.report:
        write_doc()
        return
    from distributed import Client, LocalCluster

    st, sc = datasets.load(args.dataset, download=False)
    data = prepare_pair(st, sc, seed=0)
    folds = make_folds(len(data.shared_st), args.folds, 0)
    train_params = {"max_epochs": args.epochs} if args.epochs else {}
    model_params = {"architecture": args.architecture}
    runs, timings = {}, []

    def timed(name: str, workers: int, fn) -> None:
        wall, cpu = time.perf_counter(), _cpu_self()
        runs[name] = fn()
        timings.append({"run": name, "processes": workers, "wall_s": time.perf_counter() - wall,
                        "cpu_s_this_process": _cpu_self() - cpu, "load_1min": os.getloadavg()[0]})

    timed("one model", 1, lambda: run_folds(data, spaim_predictor(seed=0, threads=1, progress=False, **model_params, **train_params),
                                            args.folds, 0, progress=False))
    timed(f"{args.tiles} tiles, in this process", 1, lambda: tiled_folds(data, folds, args.tiles, INLINE, args.epochs, args.architecture))
    for workers in map(int, args.workers.split(",")):
        with LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster:
            name = f"{args.tiles} tiles, Dask {workers} worker(s)"
            timed(name, workers, lambda: tiled_folds(data, folds, args.tiles, cluster.scheduler_address, args.epochs,
                                                        args.architecture))
            with Client(cluster) as client:  # the workers' own CPU, imports included
                timings[-1]["cpu_s_workers"] = sum(client.run(_cpu_self).values())
    per_gene = pd.concat([t.assign(run=name) for name, t in runs.items()], ignore_index=True)
    stem = RESULTS / f"tiles_{args.dataset}_{args.architecture}"
    per_gene.to_csv(f"{stem}.csv", index=False)
    pd.DataFrame(timings).assign(cells=len(st), genes=len(data.shared_st), tiles=args.tiles, folds=args.folds).to_csv(
        f"{stem}_time.csv", index=False)
    write_doc()


def summarize_runs(per_gene: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Accuracy of each run against the one-model run, gene by gene, and whether Dask equals in-process tiles."""
    runs = {name: t.set_index("gene")["pcc"] for name, t in per_gene.groupby("run", sort=False)}
    one = runs["one model"]
    rows = []
    for name, pcc in runs.items():
        pcc = pcc.reindex(one.index)
        rows.append({"run": name, "genes": len(pcc), "median_pcc": pcc.median(), "mean_pcc": pcc.mean(),
                     "median_abs_diff_vs_one_model": (pcc - one).abs().median(), "pcc_corr_with_one_model": pcc.corr(one)})
    inline = next(r for r in runs if "this process" in r)
    same = [f"{r}: {'yes' if np.allclose(runs[r].reindex(one.index), runs[inline].reindex(one.index), atol=1e-5) else 'NO'}"
            for r in runs if "Dask" in r]
    return pd.DataFrame(rows), ", ".join(same)


def write_doc() -> None:
    lines = [
        "# Tiles against one model",
        "",
        "Each dataset's shared genes are held out once (K-fold cross-validation over genes); each fold is imputed by one "
        "SpaIM model over the whole slide and by spatial tiles (`spaim.tiles.spatial_tiles`), one model each, the SC "
        "reference prepared once and, since the fifth session, the cells' library-size factors and the cell basis made "
        "once over the slide. SpaIM defaults otherwise (epochs: 300 at most, early stopping); 1 torch thread per model. "
        "Written by `benchmarks/tiles.py`; per-gene rows in `benchmarks/results/tiles_<dataset>_<architecture>.csv`.",
        "",
    ]
    for time_csv in sorted(RESULTS.glob("tiles_*_time.csv")):
        stem = time_csv.name[: -len("_time.csv")]
        dataset, label = next((stem[len("tiles_"):-len(k) - 1], k) for k in sorted(LABELS, key=len, reverse=True)
                              if stem.endswith("_" + k))
        timings = pd.read_csv(time_csv)
        summary, same = summarize_runs(pd.read_csv(RESULTS / f"{stem}.csv"))
        shape = ""
        if "cells" in timings:
            first = timings.iloc[0]
            shape = f"{first['cells']} cells, {first['genes']} shared genes, {first['folds']} folds, {first['tiles']} tiles. "
        lines += [
            f"## {dataset}: {LABELS[label]}",
            "",
            shape + "Per-gene accuracy (PCC of held-out genes on the model's log1p scale, as cross-validation scores them: "
            "library-size-normalised unless the heading says normalize=False):",
            "",
            markdown_table(summary),
            "",
            f"Dask runs equal the in-process tile run gene for gene: {same}.",
            "",
            "Time: wall, CPU of the driving process and, for Dask, of the workers (since they started,",
            "imports included). The machine is shared: the 1-minute load average at the end of each",
            "run is shown (2 cores).",
            "",
            markdown_table(timings.drop(columns=["cells", "genes", "tiles", "folds"], errors="ignore")),
            "",
        ]
    write_keeping_findings(DOC, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
