"""An average of the weights for early stopping to score and keep, on nested validation genes (hand-run).

Early stopping keeps the weights of the epoch whose ten-percent of held-aside training genes
scored best; with a dozen such genes the choice is noisy: a float-level change of the learned
mapping (fifteenth session) moved seqFISH's first benchmark fold from 157 trained epochs to 54
and its test genes' median PCC by 0.014. Candidates: an exponential moving average of the
weights, updated after each epoch with decay 0.8 (``ema_0.8``, about five epochs) or 0.9
(``ema_0.9``, about ten), stands in for the weights while early stopping scores and keeps
them (``TrainingPlan.weight_average``); Adam still steps the weights themselves.

Protocol and rule set before the run: those of ``benchmarks/nested_study.py`` (at least 4 of
5 datasets up, mean gain at least 0.005, no dataset down more than 0.005); if both pass, the
larger mean gain. An adopted candidate must then also not lower the mean median PCC of the
pseudo-spatial pairs of ``benchmarks/tune_defaults.py``, which the benchmark never scores.

Result (2026-11-28, ``results/weight_average_nested.csv``, median PCC minus the default's on
MERFISH / osmFISH / seqFISH / Slide-seq / Visium): ``ema_0.8`` +0.0017 / -0.0015 / -0.0001 /
-0.0000 / +0.0013 (mean +0.0002, 1.04-1.13x the CPU); ``ema_0.9`` +0.0012 / -0.0011 / -0.0001 /
-0.0001 / +0.0016 (mean +0.0003, 1.08-1.16x). Neither passes (2 of 5 datasets up): not adopted;
the pseudo pairs were not run. The option (``TrainingPlan.weight_average``) is in commit
ee8b16a and was removed after it; run this script on that commit.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/weight_average_nested.py [DATASET ...]  (default: all five)
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from nested_study import run  # noqa: E402

CANDIDATES = {
    "default": (contextlib.nullcontext, {}),
    "ema_0.8": (contextlib.nullcontext, {"weight_average": 0.8}),
    "ema_0.9": (contextlib.nullcontext, {"weight_average": 0.9}),
}


if __name__ == "__main__":
    run("weight_average_nested", CANDIDATES)
