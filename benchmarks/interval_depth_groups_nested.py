"""Cells grouped by library size for the intervals, on genes nested inside the confidence benchmark's folds (issue 8).

Hand-run, after ``benchmarks/confidence.py`` has cached the held-out predictions:

    OMP_NUM_THREADS=1 .venv-bench/bin/python benchmarks/interval_depth_groups_nested.py [CACHE_DIR | --pseudo]

Same nesting as ``interval_groups_nested.py`` (for each outer fold of the confidence
benchmark, each of the other four folds is scored with intervals calibrated on the remaining
three; the outer fold's genes are never scored). Two schemes, the same conformal calibration
(:class:`spaim.confidence.ConformalIntervals`: cell group x gene group x prediction bin,
shortest window of signed errors) with different cell groups:

- ``error groups``: quartiles of each cell's mean absolute error on the calibration genes
  (the default until the fourteenth session);
- ``depth groups``: quartiles of each cell's total ST counts over the panel
  (:func:`spaim.confidence.calibrate.depth_groups`).

Why depth: on the normalised log scale a shallow cell's values are mostly 0 and, when not,
large, a deep cell's close to their expectation, so the error windows differ with depth more
than with how hard a cell's genes were on average. An exploration on these same nested genes
(eight and twelve depth groups, 20 prediction bins, depth crossed with error, errors scaled per gene) found
four depth quartiles best of those tried; this script is the formal comparison.

Rule, written before this run: depth groups are adopted if the width at 90% empirical
coverage (mean of the five outer folds) is narrower than with error groups on at least four
of the five datasets and wider by no more than 1% on any, the nominal 90% coverage stays
within 0.85-0.95, and the lowest coverage over prediction quintiles falls by no more than
0.01 on any dataset.

Writes ``benchmarks/results/interval_depth_groups_nested.csv``.

Check on data the benchmark never scores, added after the adoption (``--pseudo``): the same
comparison on the pseudo-spatial pairs of ``benchmarks/tune_defaults.py`` (each pair's panel in 5
folds, one SpaIM model per fold, seed 0; nested as above), written to
``benchmarks/results/interval_depth_groups_pseudo.csv``. Result (2026-11-28): width at 90%
reached with error / depth groups 0.361 / 0.291 (osmFISH pair), 0.005 / 0.005 (MERFISH pair,
whose thinned panel is mostly zeros), 1.062 / 1.034 (Slide-seq pair), 1.685 / 1.685 (Visium
pair): narrower or equal on all four; the least covered prediction quintile moves by -0.014 to
+0.003 (osmFISH pair 0.708 -> 0.694, its 33 genes allow a single gene group).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from confidence import DATASETS, PLOT_LEVELS, SEED  # noqa: E402
from interval_groups_nested import nested_stats, save, spaim_bounds  # noqa: E402

from spaim import datasets  # noqa: E402
from spaim.confidence import cross_predict  # noqa: E402
from spaim.confidence.calibrate import depth_groups  # noqa: E402
from spaim.pairing import prepare_pair  # noqa: E402

OUT = Path("benchmarks/results/interval_depth_groups_nested.csv")


def compared(name: str, data, measured: np.ndarray, predicted: np.ndarray) -> list[dict]:
    """The two schemes' nested rows for one pair's held-out predictions."""
    depth = depth_groups(data.st_counts)

    def scheme(by_depth: bool):
        return lambda cal, val: {c: spaim_bounds(measured[:, cal], predicted[:, cal], predicted[:, val], c,
                                                 groups=depth if by_depth else None) for c in PLOT_LEVELS}

    return nested_stats(name, measured, predicted, {"error groups": scheme(False), "depth groups": scheme(True)})


def pseudo() -> None:
    from tune_defaults import SOURCES, pseudo_pair

    rows = []
    for name in SOURCES:
        data = prepare_pair(*pseudo_pair(name), normalize=True, seed=SEED)
        held, _ = cross_predict(data, 5, SEED, ensemble=1, progress=False)
        rows += compared(f"pseudo {name}", data, held.measured, held.predictions[0])
    save(rows, OUT.with_name("interval_depth_groups_pseudo.csv"))


def main() -> None:
    if sys.argv[1:] == ["--pseudo"]:
        return pseudo()
    cache = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/confidence")
    rows = []
    for name in DATASETS:
        st, sc = datasets.load(name, None, download=False)
        # the confidence benchmark's pair: its shared genes are the panel the depth is summed over
        data = prepare_pair(st, sc, normalize=True, allow_non_integer=True, seed=SEED)
        with np.load(cache / f"{name}_heldout.npz") as npz:
            rows += compared(name, data, npz["measured"], npz["pred0"])
    save(rows, OUT)


if __name__ == "__main__":
    main()
