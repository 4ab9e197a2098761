"""Two training-plan settings of the gated generator, on nested validation genes (hand-run).

The gated generator's step of 3e-3 was judged only against the additive generator at 1e-4
(``gated_departure_nested.py``), and its patience of 20 epochs only against 10
(``early_stopping_nested.py``: -0.0035 on MERFISH). Candidates: ``patience_40`` (early
stopping waits twice as long, so fits can reach later epochs; at most 300 as before) and
``lr_1e-3`` (the paper's step, the package's before the gate).

Protocol and rule set before the run: those of ``benchmarks/nested_study.py``.

Result (2026-11-27, ``results/training_plan_nested.csv``, median PCC minus the default's on
MERFISH / osmFISH / seqFISH / Slide-seq / Visium): ``patience_40`` +0.0004 / +0.0015 / 0.0000 /
0.0000 / 0.0000 (mean +0.0004, for 1.22x the CPU); ``lr_1e-3`` -0.0003 / -0.0081 / -0.0001 /
+0.0004 / -0.0017 (mean -0.0020, 1.27x the CPU). Neither passes: the defaults stay.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_plan_nested.py [DATASET ...]  (default: all five)

A run over some of the datasets writes ``training_plan_nested_<datasets>.csv`` (two such runs
side by side, one per core, made the committed file, concatenated).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from nested_study import run  # noqa: E402

CANDIDATES = {
    "default": (contextlib.nullcontext, {}),
    "patience_40": (contextlib.nullcontext, {"patience": 40}),
    "lr_1e-3": (contextlib.nullcontext, {"lr": 1e-3}),
}


if __name__ == "__main__":
    run("training_plan_nested", CANDIDATES)
