"""Small slices of a real dataset, written as h5ad files the benchmark can read."""

from __future__ import annotations

import pytest

from spaim.benchmark.protocol import DatasetSpec, run_benchmark
from spaim.datasets import load

FOLDS = 3


@pytest.fixture(scope="session")
def pair():
    """MERFISH hypothalamus: 300 ST cells and 400 SC cells, all 134 shared genes."""
    st, sc = load("merfish_hypothalamus", download=False)
    return st[:300].copy(), sc[::3][:400].copy()


@pytest.fixture(scope="session")
def pair_files(pair, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pair")
    st, sc = pair
    st.write_h5ad(folder / "st.h5ad")
    sc.write_h5ad(folder / "sc.h5ad")
    return str(folder / "st.h5ad"), str(folder / "sc.h5ad")


@pytest.fixture(scope="session")
def run(pair_files, tmp_path_factory):
    """kNN runs; SpaGE is made to fail through a bad option; one process each."""
    cache = tmp_path_factory.mktemp("cache")
    spec = DatasetSpec("merfish", *pair_files)
    results = run_benchmark([spec], ["knn", "spage"], folds=FOLDS, cache_dir=cache, options={"spage": {"bogus": 1}}, progress=False)
    return spec, cache, results[0]
