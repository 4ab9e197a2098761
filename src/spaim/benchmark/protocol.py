"""The benchmark protocol: same inputs and folds for every method, each method in its own process."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score
from tqdm.auto import tqdm

from spaim.benchmark.cache import MethodCache, fingerprint
from spaim.benchmark.carry import CarriedRows, CarriedScores
from spaim.benchmark.inputs import ST_LABELS_KEY, BenchmarkInputs, Fold, build_inputs
from spaim.benchmark.methods import NOT_AVAILABLE, method_class
from spaim.benchmark.worker import Job, start
from spaim.datasets import locate
from spaim.io import read_h5ad
from spaim.benchmark.scoring import SCORINGS, cell_pcc, domains, moran_spearman, on_scale
from spaim.metrics import score_genes

POLL_S = 0.5


@dataclass(frozen=True)
class DatasetSpec:
    """One ST/SC pair to benchmark on."""

    name: str
    st_path: str
    sc_path: str
    ignore_case: bool = False
    allow_non_integer: bool = False

    @classmethod
    def bundled(cls, name: str, data_dir: str | Path | None = None, **flags) -> DatasetSpec:
        """A bundled dataset's pair (:data:`spaim.datasets.DATASETS`), found on disk: never downloaded here."""
        folder = locate(name, data_dir, download=False)
        return cls(name, str(folder / "st.h5ad"), str(folder / "sc.h5ad"), **flags)

    def read_inputs(self) -> BenchmarkInputs:
        """The pair read and matched as every method sees it."""
        return build_inputs(read_h5ad(self.st_path, "ST"), read_h5ad(self.sc_path, "SC"), self.ignore_case, self.allow_non_integer)


@dataclass
class MethodRun:
    """A method's outcome on one dataset."""

    status: str  # "ok" or the error
    wall_s: float = float("nan")
    peak_mb: float = float("nan")
    prediction: np.ndarray | None = None  # ST cells x shared genes, held-out predictions
    carried: CarriedScores | None = None  # scores taken from an earlier run instead of predictions


@dataclass
class DatasetResult:
    spec: DatasetSpec
    inputs: BenchmarkInputs
    folds: list[Fold]
    runs: dict[str, MethodRun] = field(default_factory=dict)
    seed: int = 0  # of the clustering behind domain ARI

    def truth_panel(self, scoring: str) -> np.ndarray:
        """ST cells x shared genes: every gene's measured values as its fold scores them."""
        panel = np.zeros(self.inputs.st.shape, dtype=np.float32)
        for fold in self.folds:
            panel[:, fold.test] = self.inputs.measured(fold, scoring)
        return panel

    def prediction_panel(self, method: str, scoring: str) -> np.ndarray:
        """ST cells x shared genes: ``method``'s held-out predictions on the ``scoring`` scale."""
        counts, scale = self.inputs.st.X, method_class(method).output_scale
        prediction = self.runs[method].prediction
        panel = np.empty_like(prediction)
        for fold in self.folds:
            panel[:, fold.test] = on_scale(prediction[:, fold.test], counts, fold.train, scoring, scale)
        return panel

    def ok_methods(self) -> list[str]:
        return [m for m, run in self.runs.items() if run.status == "ok"]

    def carried(self) -> list[str]:
        """The methods whose rows come from an earlier run (``--carry``)."""
        return [m for m, run in self.runs.items() if run.carried is not None]

    def per_gene(self) -> pd.DataFrame:
        """Metrics of every held-out gene of every method that ran, under every scoring."""
        tables = []
        for scoring in SCORINGS:
            measured = self.truth_panel(scoring)
            for method in self.ok_methods():
                if self.runs[method].carried is not None:
                    carried = self.runs[method].carried.per_gene
                    tables.append(carried[carried["scoring"] == scoring])
                    continue
                predicted = self.prediction_panel(method, scoring)
                for fold in self.folds:
                    genes = [self.inputs.st_genes[i] for i in fold.test]
                    table = score_genes(measured[:, fold.test], predicted[:, fold.test], genes)
                    table.insert(0, "fold", fold.index)
                    table.insert(0, "scoring", scoring)
                    table.insert(0, "method", method)
                    table.insert(0, "dataset", self.spec.name)
                    tables.append(table)
        return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()

    def cell_level(self) -> pd.DataFrame:
        """Domain ARI, cell-wise PCC and Moran's I agreement of every method, under every scoring.

        Domains of the measured panel are Leiden clusters at resolution 1; each prediction
        is clustered the same way into as many domains. ``celltype_ari`` compares the
        prediction's domains with the ST cell types where the data has them.
        """
        coords = self.inputs.st.obsm.get("spatial")
        labels = self.inputs.st.obs.get(ST_LABELS_KEY)
        rows = []
        for scoring in SCORINGS:
            measured = self.truth_panel(scoring)
            reference = domains(measured, seed=self.seed)
            for method in self.ok_methods():
                if self.runs[method].carried is not None:
                    carried = self.runs[method].carried.cell_level
                    rows += carried[carried["scoring"] == scoring].to_dict("records")
                    continue
                predicted = self.prediction_panel(method, scoring)
                found = domains(predicted, len(np.unique(reference)), seed=self.seed)
                rows.append({
                    "dataset": self.spec.name, "method": method, "scoring": scoring,
                    "domain_ari": adjusted_rand_score(reference, found),
                    "celltype_ari": adjusted_rand_score(labels.astype(str), found) if labels is not None else np.nan,
                    "cell_pcc": cell_pcc(measured, predicted),
                    "moran_spearman": moran_spearman(measured, predicted, coords),
                })
        return pd.DataFrame(rows)


def run_benchmark(
    datasets: list[DatasetSpec],
    methods: list[str],
    folds: int = 10,
    seed: int = 0,
    cache_dir: str | Path = "cache",
    options: dict[str, dict] | None = None,
    timeout_s: float | None = None,
    progress: bool = True,
    run_missing: bool = True,
    carry: CarriedRows | None = None,
) -> list[DatasetResult]:
    """Run every method on every dataset over the same folds, resuming from ``cache_dir``.

    Parameters
    ----------
    datasets
        The ST/SC pairs.
    methods
        Method names (see :data:`spaim.benchmark.methods.REGISTRY`).
    folds, seed
        The K-fold split of each dataset's shared genes.
    cache_dir
        Where each method's per-fold results are kept; finished folds are not rerun.
    options
        Per method keyword options (e.g. ``{"tangram": {"epochs": 200}}``).
    timeout_s
        Stop a method that runs longer than this on one dataset (reported as failed).
    progress
        Show a progress bar over datasets x methods x folds.
    run_missing
        Run the folds missing from the cache (default); ``False`` reports from the cache
        alone, a method with missing folds getting a status that says how many.
    carry
        An earlier run's rows: on each dataset, its methods not in ``methods`` are carried
        (scores, status, time) instead of run, after checking that it used the same folds.
        The methods keep the earlier run's order, new ones after them.
    """
    for method in methods:
        if method not in NOT_AVAILABLE:
            method_class(method)  # unknown names fail before anything runs
    options = options or {}
    bar = tqdm(total=len(datasets) * len(methods) * folds, desc="benchmark", unit="fold", disable=not progress)
    results = []
    for spec in datasets:
        inputs = spec.read_inputs()
        result = DatasetResult(spec, inputs, inputs.folds(folds, seed), seed=seed)
        earlier = carry.methods(spec.name) if carry is not None else []
        if set(earlier) - set(methods):
            carry.check_folds(spec.name, inputs.st_genes, result.folds)
        for method in [*earlier, *(m for m in methods if m not in earlier)]:
            if method not in methods:
                row, scores = carry.scores(spec.name, method)
                result.runs[method] = MethodRun(row.status, row.wall_s, row.peak_mb, carried=scores)
                continue
            bar.set_postfix_str(f"{spec.name}: {method}")
            if method in NOT_AVAILABLE:  # a peer that cannot run here keeps its row, with the measured reason
                result.runs[method] = MethodRun(status=f"not run: {NOT_AVAILABLE[method]}")
                bar.update(folds)
                continue
            result.runs[method] = _run_method(result, method, seed, cache_dir, options.get(method, {}), timeout_s, bar,
                                              run_missing)
        results.append(result)
    bar.close()
    return results


def method_cache(
    spec: DatasetSpec, inputs: BenchmarkInputs, folds: list[Fold], method: str, seed: int, options: dict, cache_dir: str | Path,
) -> MethodCache:
    """Where ``method``'s folds on ``spec`` are cached: keyed by the data files, shared genes, folds, seed and its options."""
    key = fingerprint(
        st=spec.st_path, sc=spec.sc_path, genes=inputs.genes, folds=[f.test.tolist() for f in folds],
        seed=seed, options=options, ignore_case=spec.ignore_case, allow_non_integer=spec.allow_non_integer,
    )
    return MethodCache(cache_dir, spec.name, method, key)


def _run_method(
    result: DatasetResult, method: str, seed: int, cache_dir, options: dict, timeout_s: float | None, bar: tqdm,
    run_missing: bool = True,
) -> MethodRun:
    spec, folds = result.spec, result.folds
    cache = method_cache(spec, result.inputs, folds, method, seed, options, cache_dir)
    indices = [f.index for f in folds]
    done = cache.done(indices)
    bar.update(len(done))
    todo = [f for f in folds if f.index not in done]
    if not run_missing:
        bar.update(len(todo))
        if todo:
            return MethodRun(status=cache.error() or f"not finished: {len(done)} of {len(folds)} folds in the cache when this report was made")
        return _collect(cache, folds, result.inputs)
    cache.pop_error()
    error = _execute(Job(method, spec.st_path, spec.sc_path, todo, cache, seed, spec.ignore_case, spec.allow_non_integer, options),
                     timeout_s, bar, len(done)) if todo else None
    missing = len(indices) - len(cache.done(indices))
    bar.update(missing)  # failed folds still count as visited
    if error is not None or missing:
        return MethodRun(status=error or f"{missing} fold(s) produced no result")
    return _collect(cache, folds, result.inputs)


def _execute(job: Job, timeout_s: float | None, bar: tqdm, n_done: int) -> str | None:
    """Run ``job`` in its own process, advancing ``bar`` as folds finish; the error, if any."""
    indices = [f.index for f in job.folds]
    process = start(job)
    began = time.monotonic()
    seen = n_done
    while process.poll() is None:
        time.sleep(POLL_S)
        finished = n_done + len(job.cache.done(indices))
        bar.update(finished - seen)
        seen = finished
        if timeout_s is not None and time.monotonic() - began > timeout_s:
            process.kill()
            process.wait()
            job.cache.save_error(f"timed out after {timeout_s:.0f} s")
            return job.cache.error()
    bar.update(n_done + len(job.cache.done(indices)) - seen)
    error = job.cache.error()  # kept in the cache until the next run, for reports made from the cache
    if error is None and process.returncode != 0:
        error = f"process exited with code {process.returncode} (killed, e.g. out of memory?)"
    return error


def _collect(cache: MethodCache, folds: list[Fold], inputs: BenchmarkInputs) -> MethodRun:
    prediction = np.full(inputs.st.shape, np.nan, dtype=np.float32)
    wall, peak = 0.0, 0.0
    for fold in folds:
        fold_result = cache.load(fold.index)
        prediction[:, fold.test] = fold_result.prediction
        wall += fold_result.wall_s
        peak = max(peak, fold_result.peak_mb)
    return MethodRun("ok", wall, peak, prediction)
