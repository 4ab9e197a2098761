"""The mean of several SpaIM fits that differ only in their seed, on nested validation genes (hand-run).

``benchmarks/seed_spread.py`` measured that SpaIM's seed alone moves its benchmark row by as
much as the gaps to the best peers (median PCC up to 0.03), and that the mean of the three
seeds' predictions scored a higher mean PCC than the seeds' average on all five datasets and a
higher median PCC on three (MERFISH, Slide-seq, Visium; lower on osmFISH and seqFISH), on the
benchmark's test genes: a look, which chooses nothing. This study asks the same on genes nested inside the
training folds. Candidates: ``mean_2`` and ``mean_3``, the mean of the predictions of the fits
at seeds 0-1 and 0-2 (the seed of SpaIM itself: its mapping choice, pooling, initialisation and
validation genes; the reference's clusters are shared), against the fit at seed 0.

Protocol and rule set before the run: those of ``benchmarks/nested_study.py`` (at least 4 of 5
datasets up, mean gain at least 0.005, no dataset down more than 0.005). A candidate costs 2 or
3 fits' training, so even one that passes cannot be the default under issue 13's "no worse time
per fit"; passing would make it worth offering as an option.

Result (2026-11-28, ``results/seed_ensemble_nested.csv``, median PCC minus the seed-0 fit's on
MERFISH / osmFISH / seqFISH / Slide-seq / Visium): ``mean_2`` +0.0004 / +0.0013 / +0.0004 /
+0.0021 / +0.0013 (mean +0.0011, 5 of 5 up, 1.8-2.1x the CPU); ``mean_3`` +0.0006 / -0.0005 /
+0.0008 / +0.0023 / +0.0019 (mean +0.0010, 4 of 5 up, 2.8-3.6x). Mean PCC and cell-wise PCC rise
too (``mean_3`` +0.0026 and +0.0021 on average). Neither reaches the rule's +0.005: a steady but
small gain, for the cost of two or three fits; nothing is adopted. (Here the reference's clusters
are shared; in seed_spread.py's look they differ between the seeds as well.)

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/seed_ensemble_nested.py [DATASET ...]  (default: all five)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from nested_study import scores, write  # noqa: E402

from spaim.benchmark.methods.spaim import nested_fits  # noqa: E402
from spaim.datasets import DATASETS  # noqa: E402
from spaim.model.imputer import SpaIM  # noqa: E402

SEEDS = (0, 1, 2)


def ensemble_rows(name: str) -> pd.DataFrame:
    rows = []
    for data, outer, k, fit, truth, genes in nested_fits(name):
        predictions, cpu = [], []
        for seed in SEEDS:
            start = time.process_time()
            model = SpaIM.from_paired_data(data.subset(fit), seed=seed, threads=1).train(progress=False)
            predictions.append(model.predict(genes))
            cpu.append(time.process_time() - start)
        for label, n in (("default", 1), ("mean_2", 2), ("mean_3", 3)):
            rows.append({"dataset": name, "outer": outer, "inner": k, "candidate": label,
                         **scores(truth, np.mean(predictions[:n], axis=0)), "cpu_s": round(sum(cpu[:n]), 2)})
        print(name, "outer fold", outer, "inner fold", k, flush=True)
    return pd.DataFrame(rows)


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(DATASETS)
    write((ensemble_rows(name) for name in names), "seed_ensemble_nested", names)
