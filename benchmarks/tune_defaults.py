"""Choose SpaIM's defaults on validation genes only, never on benchmark test folds.

For each bundled dataset, the shared genes are split into the benchmark's 10 folds
(seed 0); only the *training* genes of fold 0 are used here, split again into 4 inner
folds (seed 1). Each candidate setting is scored by the median PCC and SSIM over those
inner validation genes. Run by hand: ``python benchmarks/tune_defaults.py``; results
go to ``benchmarks/results/tune_defaults.csv``.
"""

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from spaim import datasets
from spaim.crossval import make_folds, run_folds, spaim_predictor
from spaim.pairing import prepare_pair

CANDIDATES = {
    "paper (median, reconstruction, batch)": ({}, {}),
    "mean profiles": ({"profile_stat": "mean"}, {}),
    "generator vs measured": ({}, {"generator_target": "measured"}),
    "mean + measured": ({"profile_stat": "mean"}, {"generator_target": "measured"}),
}


def validation_scores(name: str, setup: dict, train: dict) -> pd.DataFrame:
    st, sc = datasets.load(name)
    data = prepare_pair(st, sc, allow_non_integer=True, seed=0, **setup)
    test0 = make_folds(len(data.shared_st), 10, seed=0)[0]
    inner = data.subset(np.setdiff1d(np.arange(len(data.shared_st)), test0))
    return run_folds(inner, spaim_predictor(seed=0, progress=False, **train), folds=4, seed=1, progress=False)


def main(names: list[str]) -> None:
    rows = []
    out = Path(__file__).parent / "results" / "tune_defaults.csv"
    out.parent.mkdir(exist_ok=True)
    for label, (setup, train) in CANDIDATES.items():
        for name in names:
            start = time.perf_counter()
            table = validation_scores(name, setup, train)
            rows.append({"candidate": label, "dataset": name, "median_pcc": table.pcc.median(),
                         "median_ssim": table.ssim.median(), "mean_pcc": table.pcc.mean(),
                         "wall_s": time.perf_counter() - start})
            print(rows[-1], flush=True)
            pd.DataFrame(rows).to_csv(out, index=False)
    summary = pd.DataFrame(rows).groupby("candidate")[["median_pcc", "median_ssim", "mean_pcc"]].mean()
    print(summary.sort_values("median_pcc", ascending=False).round(4).to_string())


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(datasets.DATASETS))
