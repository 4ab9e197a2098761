"""Side-by-side benchmark of SpaIM against peer imputation methods on the same folds.

Entry points: :func:`spaim.benchmark.protocol.run_benchmark` and the ``spaim benchmark``
command (:mod:`spaim.benchmark.cli`). Nothing is imported here, so that the per-method
worker process (``python -m spaim.benchmark.worker``) starts clean.
"""
