"""Run one fold of one benchmark method into the benchmark's cache, for peers whose folds outlast a session.

Usage: .venv-bench/bin/python benchmarks/run_fold.py DATASET METHOD FOLD [CACHE]
(CACHE defaults to runs/benchmark/cache, the cache of benchmarks/run_benchmark.sh.)

The fold runs under the settings of benchmarks/run_benchmark.sh (5 folds, seed 0,
non-integer values allowed, every method at its defaults), so the result lands in the folder
that ``spaim benchmark`` reads for the same data: ``CACHE/DATASET/METHOD-KEY/foldK.npz``.
Each call runs in a private folder beside it and moves the finished fold in, so several folds
can run side by side (one process per core) without overwriting each other's job file.
Commit finished folds to benchmarks/partial_folds (benchmarks/README.md).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from spaim.benchmark.cache import MethodCache, fingerprint
from spaim.benchmark.inputs import build_inputs
from spaim.benchmark.worker import Job, start
from spaim.datasets import locate
from spaim.io import read_h5ad

FOLDS, SEED, IGNORE_CASE, ALLOW_NON_INTEGER = 5, 0, False, True  # as benchmarks/run_benchmark.sh


def main(dataset: str, method: str, fold: int, root: str = "runs/benchmark/cache") -> None:
    folder = locate(dataset, None, download=False)
    st_path, sc_path = str(folder / "st.h5ad"), str(folder / "sc.h5ad")
    inputs = build_inputs(read_h5ad(st_path, "ST"), read_h5ad(sc_path, "SC"), IGNORE_CASE, ALLOW_NON_INTEGER)
    folds = inputs.folds(FOLDS, SEED)
    key = fingerprint(st=st_path, sc=sc_path, genes=inputs.genes, folds=[f.test.tolist() for f in folds], seed=SEED,
                      options={}, ignore_case=IGNORE_CASE, allow_non_integer=ALLOW_NON_INTEGER)
    shared = MethodCache(root, dataset, method, key)
    if shared.path(fold).is_file():
        print(f"{shared.path(fold)} exists: nothing to run")
        return
    scratch = Path(root) / f".{dataset}-{method}-fold{fold}"
    private = MethodCache(scratch, dataset, method, key)
    process = start(Job(method, st_path, sc_path, [folds[fold]], private, SEED, IGNORE_CASE, ALLOW_NON_INTEGER, {}))
    print(f"{method} on {dataset}, fold {fold}: worker {process.pid}, log {private.log_path}", flush=True)
    if process.wait() != 0 or not private.path(fold).is_file():
        sys.exit(f"fold {fold} did not finish: see {private.log_path}")
    shared.folder.mkdir(parents=True, exist_ok=True)
    os.replace(private.path(fold), shared.path(fold))
    shutil.rmtree(scratch)
    print(f"wrote {shared.path(fold)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
