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

from spaim.benchmark.protocol import DatasetSpec, method_cache
from spaim.benchmark.worker import Job, start

FOLDS, SEED = 5, 0  # as benchmarks/run_benchmark.sh, which also allows non-integer values and sets no options


def main(dataset: str, method: str, fold: int, root: str = "runs/benchmark/cache") -> None:
    spec = DatasetSpec.bundled(dataset, allow_non_integer=True)
    inputs = spec.read_inputs()
    folds = inputs.folds(FOLDS, SEED)
    shared = method_cache(spec, inputs, folds, method, SEED, {}, root)
    if shared.path(fold).is_file():
        print(f"{shared.path(fold)} exists: nothing to run")
        return
    scratch = Path(root) / f".{dataset}-{method}-fold{fold}"
    private = method_cache(spec, inputs, folds, method, SEED, {}, scratch)
    process = start(Job(method, spec.st_path, spec.sc_path, [folds[fold]], private, SEED, spec.ignore_case, spec.allow_non_integer, {}))
    print(f"{method} on {dataset}, fold {fold}: worker {process.pid}, log {private.log_path}", flush=True)
    if process.wait() != 0 or not private.path(fold).is_file():
        sys.exit(f"fold {fold} did not finish: see {private.log_path}")
    shared.folder.mkdir(parents=True, exist_ok=True)
    os.replace(private.path(fold), shared.path(fold))
    shutil.rmtree(scratch)
    print(f"wrote {shared.path(fold)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:5])
