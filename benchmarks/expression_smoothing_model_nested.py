"""Transfer weights pooled over each cell's nearest cells in expression, in the trained model, on nested validation genes (hand-run).

``benchmarks/expression_smoothing_nested.py`` scored the plain transfer (no network) with each
cell's metacell weights mixed with the mean over its 15 nearest cells in the panel's principal
components. On those nested genes, a fixed share of 0.5 (instead of the spatial share chosen per
fit) raised median PCC on all five datasets (mean +0.0075) and domain ARI on all five; the
candidate that the first run's rule named (the share chosen per fit among spatial and
expression) did not pass it (3 of 5 up, mean +0.0028). A fixed share picked after seeing
results on the same genes needs a check on a fit it did not see, so this asks the question
where the package's defaults are judged: the whole model (cell basis, gated departure, early
stopping) fitted on each inner fold and scored on its validation genes.

Candidates: ``default`` (before this study: weights smoothed spatially at the share chosen per
fit; run with ``EXPRESSION_SMOOTHING`` patched to 0 once it became the default) and ``expression 0.5`` (:data:`spaim.cell_basis.EXPRESSION_SMOOTHING` = 0.5 and no spatial
smoothing of the weights; the spatial means among the cell features stay).

Protocol and rule set before the run: those of ``benchmarks/nested_study.py`` (median PCC higher
on at least 4 of 5 datasets, mean gain at least 0.005, no dataset down more than 0.005).

First run (2026-11-27, ``results/expression_smoothing_model_nested.csv``, median PCC ``expression
0.5`` minus ``default`` on MERFISH / osmFISH / seqFISH / Slide-seq / Visium): +0.0165 / +0.0057 /
+0.0045 / +0.0075 / -0.0048 (mean +0.0059, 4 of 5 higher): it passes the rule, with Visium,
where the spatial share chosen per fit averaged 0.8, just inside the 0.005 allowed loss.

Second run, written before it ran: ``expression 0.5 + spatial`` pools in expression first and
then keeps the spatial share chosen per fit on top (the package's choice, unchanged). If it also
passes the rule, the one of the two with the higher mean gain becomes the default.

Second run (same file; ``default`` and ``expression 0.5`` reproduced the first run's figures to
the last digit): ``expression 0.5 + spatial`` minus ``default``: +0.0136 / +0.0083 / +0.0017 /
+0.0097 / +0.0025 (mean +0.0072, **higher on all five**). It passes, with the larger mean gain,
and is the default since (``EXPRESSION_SMOOTHING = 0.5``; README step 3).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/expression_smoothing_model_nested.py [DATASET ...]  (default: all five)
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).parent))
from nested_study import run  # noqa: E402

from spaim import cell_basis  # noqa: E402


def expression_pooling():
    return patch.multiple(cell_basis, EXPRESSION_SMOOTHING=0.5, SMOOTHING=(0.0,))


def expression_then_spatial():
    return patch.multiple(cell_basis, EXPRESSION_SMOOTHING=0.5)


def no_expression_pooling():
    return patch.multiple(cell_basis, EXPRESSION_SMOOTHING=0.0)


CANDIDATES = {"default": (no_expression_pooling, {}), "expression 0.5": (expression_pooling, {}),
              "expression 0.5 + spatial": (expression_then_spatial, {})}


def smoothing(model) -> dict:
    return {"spatial_smoothing": model.module_params.get("smoothing", float("nan"))}


if __name__ == "__main__":
    run("expression_smoothing_model_nested", CANDIDATES, smoothing)
