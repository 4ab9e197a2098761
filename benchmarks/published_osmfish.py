"""Reproduce Li et al. 2022's osmFISH table (their Data15) under their protocol, beside SpaIM.

Usage: .venv-bench/bin/python benchmarks/published_osmfish.py [--runs label,label,...] [--timeout S] [--report]
Each run goes through ``run_benchmark`` (10 folds of the shared genes, seed 0, one process
per method, cached under /work/runs/published/cache: a rerun resumes). With ``--report``
(default when no ``--runs`` is given), every run whose folds are all cached is scored with
:func:`spaim.benchmark.published.score_published` and the tables are written to
docs/benchmark/published_osmfish.csv (medians per method), published_osmfish_per_gene.csv,
and the numbers block of published_osmfish.md (between the ``<!-- numbers -->`` markers); the
same runs become the ``published`` scoring rows of docs/benchmark/summary.csv and a section of
report.md (run it after ``spaim benchmark``, as benchmarks/run_benchmark.sh does).
Their per-gene metrics are read from the SpatialBenchmarking snapshot (PEERS_SRC).
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from spaim._markdown import markdown_table
from spaim.benchmark.cache import MethodCache
from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.protocol import DatasetSpec, run_benchmark
from spaim.benchmark.published import score_published
from spaim.io import atomic_path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("PUBLISHED_CACHE", "/work/runs/published/cache"))
PEERS_SRC = Path(os.environ.get("PEERS_SRC", "/work/shared/peers-src/SpatialBenchmarking"))
DATA15 = PEERS_SRC / "FigureData/Figure2/Metrics/Data15"
DOCS = ROOT / "docs/benchmark"
FOLDS, SEED = 10, 0
METRICS = ("pcc", "ssim", "rmse", "js")

#: label -> (adapter, options, Li et al.'s name for the method, settings in words)
RUNS = {
    "spage": ("spage", {"protocol": "li2022"}, "SpaGE", "raw counts both sides, n_pv = half the training genes, 50 cosine neighbours"),
    "gimvi": ("gimvi", {"protocol": "li2022", "epochs": 200}, "gimVI", "raw counts, 200 epochs, expected counts (normalized=False) scored as returned"),
    "tangram": (
        "tangram", {"protocol": "li2022", "epochs": 1000}, "Tangram",
        "SC normalize_total + log1p, ST raw counts (whole panel), mode='cells', 1000 epochs (SpatialGenes.py)",
    ),
    "tangram_clusters": (
        "tangram", {"protocol": "li2022", "epochs": 1000, "mode": "clusters"}, "Tangram",
        "as above but mode='clusters' on Leiden (resolution 0.5) clusters, the default of their Figure 2 notebook",
    ),
    "stplus": ("stplus", {"protocol": "li2022"}, "stPlus", "raw counts both sides, stPlus() defaults (top_k 2000, up to 10,000 epochs)"),
    "novosparc": (
        "novosparc", {"protocol": "li2022"}, "novoSpaRc",
        "raw counts, 2000 most dispersed SC genes, 5/5 neighbours, alpha_linear 0.5, epsilon 5e-3, dge.T @ coupling",
    ),
    "seurat": (
        "seurat", {"protocol": "li2022"}, "Seurat",
        "raw counts, no NormalizeData (as Seurat.r), FindTransferAnchors(cca) + TransferData of the counts; scored as returned",
    ),
    "liger": (
        "liger", {"protocol": "li2022"}, "LIGER",
        "raw counts as LIGER.r (norm.data := raw), iNMF k 20, lambda 20, quantile_norm, imputeKNN(30); averaged counts scored as returned",
    ),
    "spaotsc": (
        "spaotsc", {"protocol": "li2022"}, "SpaOTsc",
        "raw counts as SpatialGenes.py, cost exp(1 - spearman)^2, transport_plan(alpha 0, rho 1, epsilon 1); gamma.T @ SC counts",
    ),
    "spaim": ("spaim", {}, None, "package defaults; log1p-scale output scored as returned"),
}
#: Rows scored from another run's predictions: SpaIM's log1p output brought back to counts (expm1).
DERIVED = {"spaim_expm1": "spaim"}
OTHER_ROWS = {
    "spaim_expm1": "SpaIM's predictions above, expm1 to counts (the truth's scale)",
    "libsize": "floor: each held-out gene predicted as the cell's total count over the training genes",
}

def published_per_gene() -> pd.DataFrame:
    """Their per-gene metrics for every method in Data15 (gene names upper-cased, as in their files)."""
    tables = []
    for path in sorted(DATA15.glob("*_Metrics.txt")):
        table = pd.read_csv(path, sep="\t", index_col=0).rename(columns=str.lower)
        table.index = table.index.str.upper()
        table.insert(0, "method", path.name.removesuffix("_Metrics.txt"))
        tables.append(table.rename_axis("gene").reset_index())
    return pd.concat(tables, ignore_index=True)


def osmfish() -> DatasetSpec:
    return DatasetSpec.bundled("osmfish_cortex", allow_non_integer=True)


def run(label: str, timeout_s: float | None = None):
    """Run one labelled run over the 10 folds, resuming from the cache; stopped after ``timeout_s`` (finished folds stay cached)."""
    method, options, _, _ = RUNS[label]
    return run_benchmark([osmfish()], [method], FOLDS, SEED, CACHE / label, {method: options}, timeout_s=timeout_s)[0].runs[method]


def cached_prediction(label: str, inputs: BenchmarkInputs, folds: list[Fold]) -> tuple[np.ndarray, int, float]:
    """The held-out predictions of the folds of ``label`` that are cached (NaN elsewhere), their count and wall time.

    Reads the cache only, so a run still in progress can be reported on the folds it finished.
    """
    prediction = np.full(inputs.st.shape, np.nan, dtype=np.float32)
    folders = sorted((CACHE / label / "osmfish_cortex").glob(f"{RUNS[label][0]}-*"), key=lambda f: f.stat().st_mtime)
    if not folders:
        return prediction, 0, 0.0
    # One options set per label: the latest folder (METHOD-KEY) is the run's.
    method, key = folders[-1].name.split("-", 1)
    cache = MethodCache(CACHE / label, "osmfish_cortex", method, key)
    done, wall = cache.done([f.index for f in folds]), 0.0
    for fold in folds:
        if fold.index in done:
            result = cache.load(fold.index)
            prediction[:, fold.test] = result.prediction
            wall += result.wall_s
    return prediction, len(done), wall


def library_size(inputs: BenchmarkInputs, folds: list[Fold]) -> np.ndarray:
    """The floor of issue 12: every held-out gene predicted as the cell's total count over the fold's training genes."""
    counts = np.asarray(inputs.st.X, dtype=np.float64)
    prediction = np.empty(counts.shape)
    for fold in folds:
        prediction[:, fold.test] = counts[:, fold.train].sum(axis=1, keepdims=True)
    return prediction


def carried_per_gene() -> tuple[pd.DataFrame, dict[str, tuple[int, float]]]:
    """The committed per-gene scores and (folds done, wall time) of every run, for runs with no cached fold (``--carry``)."""
    table = pd.read_csv(DOCS / "published_osmfish.csv", float_precision="round_trip").set_index("method")
    per_gene = pd.read_csv(DOCS / "published_osmfish_per_gene.csv", float_precision="round_trip", keep_default_na=False, na_values=[""])
    return per_gene, {m: (int(r.n_folds), float(r.wall_s)) for m, r in table.iterrows() if r.n_folds > 0}


def our_per_gene(theirs: pd.DataFrame, carry: bool = False) -> tuple[pd.DataFrame, dict[str, tuple[int, float]]]:
    """Our per-gene scores of every run's cached folds, beside theirs, with each run's folds done and wall time.

    With ``carry``, a run with no cached fold keeps the committed rows (docs/benchmark), as
    ``spaim benchmark --carry`` does: the peers' runs take hours, their caches live outside
    the repository, and a rerun of SpaIM alone should not drop them.
    """
    carried, carried_progress = carried_per_gene() if carry else (pd.DataFrame(columns=["method"]), {})
    spec = osmfish()
    inputs = spec.read_inputs()
    folds = inputs.folds(FOLDS, SEED)
    tables, progress = [], {}
    for label in RUNS | DERIVED | {"libsize": None}:
        if label == "libsize":
            prediction, n_done, wall = library_size(inputs, folds), len(folds), float("nan")
        else:
            prediction, n_done, wall = cached_prediction(DERIVED.get(label, label), inputs, folds)
        if n_done == 0:
            if label in carried_progress:
                tables.append(carried[carried["method"] == label])
                progress[label] = carried_progress[label]
            continue
        if label in DERIVED:
            prediction = np.expm1(prediction)
        predicted = ~np.isnan(prediction).all(axis=0)
        genes = [g.upper() for g in inputs.st_genes]
        table = score_published(inputs.st.X[:, predicted], prediction[:, predicted], [g for g, p in zip(genes, predicted) if p])
        table.insert(0, "method", label)
        name = RUNS[label][2] if label in RUNS else None
        if name:
            their_pcc = theirs[theirs["method"] == name].set_index("gene")["pcc"]
            table["li2022_pcc"] = table["gene"].map(their_pcc)
        tables.append(table)
        progress[label] = (n_done, wall)
    return pd.concat(tables, ignore_index=True), progress


def summary(ours: pd.DataFrame, theirs: pd.DataFrame, progress: dict[str, tuple[int, float]]) -> pd.DataFrame:
    their_median = theirs.groupby("method")[list(METRICS)].median()
    rows = []
    for label in [*RUNS, *DERIVED, "libsize"]:
        _, _, name, settings = RUNS.get(label) or (None, None, None, OTHER_ROWS[label])
        mine = ours[ours["method"] == label]
        if mine.empty and not name:
            continue
        # A peer with no finished fold still shows its published values (n_folds 0).
        n_folds, wall = progress.get(label, (0, np.nan))
        row = {"method": label, "li2022_name": name or "", "settings": settings, "n_folds": n_folds, "n_genes": len(mine)}
        for metric in METRICS:
            row[f"published_median_{metric}"] = their_median.loc[name, metric] if name else np.nan
            row[f"our_median_{metric}"] = mine[metric].median()
        row["difference"] = row["our_median_pcc"] - row["published_median_pcc"]
        if name:
            # Theirs over the same genes: differs from their median only while a run is unfinished.
            row["published_median_pcc_same_genes"] = mine["li2022_pcc"].median()
            row["difference_same_genes"] = row["our_median_pcc"] - row["published_median_pcc_same_genes"]
            row["per_gene_pcc_correlation"] = mine["pcc"].corr(mine["li2022_pcc"])
        row["wall_s"] = wall
        rows.append(row)
    columns = ["method", "li2022_name", "published_median_pcc", "our_median_pcc", "difference", "n_folds", "n_genes", "published_median_pcc_same_genes", "difference_same_genes"]
    columns += [f"{side}_median_{m}" for m in METRICS[1:] for side in ("published", "our")]
    columns += ["per_gene_pcc_correlation", "wall_s", "settings"]
    return pd.DataFrame(rows).reindex(columns=columns)


def write_numbers(table: pd.DataFrame) -> None:
    """Replace the numbers block of the markdown report, keeping the hand-written text around it."""
    md = DOCS / "published_osmfish.md"
    shown = table.drop(columns=["settings", "li2022_name"]).rename(columns=lambda c: c.replace("_median", "").replace("published", "Li"))
    block = f"<!-- numbers -->\n{markdown_table(shown)}\n<!-- /numbers -->"
    text = md.read_text() if md.is_file() else "# Li et al. 2022 on osmFISH\n\n<!-- numbers -->\n<!-- /numbers -->\n"
    with atomic_path(md, force=True) as tmp:
        tmp.write_text(re.sub(r"<!-- numbers -->.*?<!-- /numbers -->", lambda _: block, text, flags=re.S))


def write_published_scoring(ours: pd.DataFrame, table: pd.DataFrame) -> None:
    """Put this protocol into the benchmark's own outputs as the third scoring, ``published``.

    Rows with ``scoring == "published"`` in docs/benchmark/summary.csv are replaced by one row
    per run (medians and means of the per-gene metrics; status says how many of the 10 folds
    finished), and report.md gets the side-by-side table between ``<!-- published -->``
    markers (appended the first time). Run after ``spaim benchmark`` has written docs/benchmark.
    """
    summary_csv, report_md = DOCS / "summary.csv", DOCS / "report.md"
    if not summary_csv.is_file() or not report_md.is_file():
        return
    stats = ours.groupby("method", sort=False)[list(METRICS)].agg(["median", "mean"])
    stats.columns = [f"{how}_{metric}" for metric, how in stats.columns]
    folds = table.set_index("method")
    rows = stats.reset_index().assign(
        dataset="osmfish_cortex",
        scoring="published",
        status=[("ok" if folds.loc[m, "n_folds"] == FOLDS else f"not finished: {folds.loc[m, 'n_folds']:.0f} of {FOLDS} folds") for m in stats.index],
        wall_s=[folds.loc[m, "wall_s"] for m in stats.index],
    )
    summary = pd.read_csv(summary_csv, float_precision="round_trip")  # rewrite the other rows digit for digit
    summary = pd.concat([summary[summary["scoring"] != "published"], rows.reindex(columns=summary.columns)], ignore_index=True)
    with atomic_path(summary_csv, force=True) as tmp:
        summary.to_csv(tmp, index=False)
    shown = table[["method", "li2022_name", "published_median_pcc", "our_median_pcc", "difference", "n_folds", "published_median_pcc_same_genes", "difference_same_genes", "per_gene_pcc_correlation"]]
    block = (
        "<!-- published -->\n## Published protocol: Li et al. 2022 on osmFISH (scoring `published`)\n\n"
        "Truth = raw ST counts, each prediction as the method returns it, 10 folds (Li et al.'s "
        "`GenesMetrics.py`; each peer called as their pipeline calls it). `published_*` are their "
        "medians from the Data15 per-gene files; `*_same_genes` compares over the genes of the "
        "folds that finished. Verdicts per peer and the differences we cannot remove: "
        "[published_osmfish.md](published_osmfish.md).\n\n"
        f"{markdown_table(shown)}\n<!-- /published -->"
    )
    text = report_md.read_text()
    if "<!-- published -->" not in text:
        text = text.rstrip("\n") + "\n\n<!-- published -->\n<!-- /published -->\n"
    with atomic_path(report_md, force=True) as tmp:
        tmp.write_text(re.sub(r"<!-- published -->.*?<!-- /published -->", lambda _: block, text, flags=re.S))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="", help=f"comma-separated labels to run, from {', '.join(RUNS)}")
    parser.add_argument("--timeout", type=float, default=None, help="stop each run after this many seconds (finished folds stay cached)")
    parser.add_argument("--report", action="store_true", help="score every fully cached run and write the tables")
    parser.add_argument("--carry", action="store_true", help="with --report: runs with no cached fold keep their committed rows")
    args = parser.parse_args()
    labels = [x for x in args.runs.split(",") if x]
    for label in labels:
        outcome = run(label, args.timeout)
        print(f"{label}: {outcome.status}, {outcome.wall_s:.0f} s")
    if args.report or not labels:
        theirs = published_per_gene()
        ours, progress = our_per_gene(theirs, args.carry)
        table = summary(ours, theirs, progress)
        with atomic_path(DOCS / "published_osmfish.csv", force=True) as tmp:
            table.to_csv(tmp, index=False)
        with atomic_path(DOCS / "published_osmfish_per_gene.csv", force=True) as tmp:
            ours.to_csv(tmp, index=False)
        write_numbers(table)
        write_published_scoring(ours, table)
        print(markdown_table(table.drop(columns=["settings"])))


if __name__ == "__main__":
    main()
