from pathlib import Path

import numpy as np
import pytest

from spaim.benchmark import protocol
from spaim.benchmark.protocol import run_benchmark
from spaim.errors import SpaIMInputError

from .conftest import FOLDS


def test_each_method_predicts_every_shared_gene_once(run):
    _, _, result = run
    knn = result.runs["knn"]
    assert knn.status == "ok"
    assert knn.prediction.shape == result.inputs.st.shape and np.isfinite(knn.prediction).all()
    assert knn.wall_s > 0 and knn.peak_mb > 50
    table = result.per_gene()
    for scoring in ("normalized", "raw"):
        assert sorted(table.loc[table["scoring"] == scoring, "gene"]) == sorted(result.inputs.st_genes)
    assert set(table["fold"]) == set(range(FOLDS))


def test_a_failing_method_is_reported_with_its_error(run):
    _, _, result = run
    assert result.runs["spage"].status.startswith("TypeError") and "bogus" in result.runs["spage"].status
    assert set(result.per_gene()["method"]) == {"knn"}


def test_finished_folds_are_not_rerun(run, monkeypatch):
    spec, cache, first = run

    def no_process(job):
        raise AssertionError(f"{job.method} was rerun")

    monkeypatch.setattr(protocol, "start", no_process)
    again = run_benchmark([spec], ["knn"], folds=FOLDS, cache_dir=cache, progress=False)[0]
    np.testing.assert_array_equal(again.runs["knn"].prediction, first.runs["knn"].prediction)
    assert again.runs["knn"].wall_s == first.runs["knn"].wall_s


def test_unknown_methods_fail_before_running_and_unavailable_ones_get_a_reason(run):
    spec, cache, _ = run
    with pytest.raises(SpaIMInputError, match="unknown method"):
        run_benchmark([spec], ["knn", "nope"], folds=FOLDS, cache_dir=cache, progress=False)
    # A peer that cannot run here is not an error: it gets a row saying why, and nothing runs.
    (result,) = run_benchmark([spec], ["spatialscope"], folds=FOLDS, cache_dir=cache, progress=False)
    assert result.runs["spatialscope"].status.startswith("not run: ") and "GPU" in result.runs["spatialscope"].status
    assert not list((Path(cache) / spec.name).glob("spatialscope-*"))


def test_report_only_runs_nothing_and_says_what_is_missing(run, tmp_path, monkeypatch):
    spec, cache, first = run

    def no_process(job):
        raise AssertionError(f"{job.method} was run")

    monkeypatch.setattr(protocol, "start", no_process)
    again = run_benchmark([spec], ["knn", "libsize"], folds=FOLDS, cache_dir=cache, progress=False, run_missing=False)[0]
    np.testing.assert_array_equal(again.runs["knn"].prediction, first.runs["knn"].prediction)
    assert again.runs["libsize"].status == f"not finished: 0 of {FOLDS} folds in the cache when this report was made"
