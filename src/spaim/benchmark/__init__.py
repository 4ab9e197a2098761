"""Side-by-side benchmark of SpaIM against peer imputation methods on the same folds."""

from spaim.benchmark.protocol import run_benchmark

__all__ = ["run_benchmark"]
