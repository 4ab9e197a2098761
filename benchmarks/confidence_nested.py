"""Choose how the per-gene confidence is built, on data the benchmark never scores (issue 8).

The confidence benchmark (``benchmarks/confidence.py``) scores the bundled datasets' panel
genes, so it cannot also choose the confidence model. Here the choice is made on the
pseudo-spatial pairs of ``benchmarks/tune_defaults.py`` (two halves of each SC reference,
one thinned gene by gene and laid out as a slide): every pseudo-panel gene is held out by
5-fold cross-validation with two SpaIM models per fold (seeds 0 and 1, as
``spaim.confidence.calibrate`` does), and each candidate's nested confidence is scored by
its Spearman correlation with the genes' held-out PCC.

Candidates:

- ``7 features``: the ridge regression on the seven features used until now;
- ``8 features``: the same with ``reference_pcc`` (how well the panel predicts the gene
  among the SC metacells);
- ``forward 7`` / ``forward 8``: the ridge on the features chosen by greedy forward
  selection, each step scored by an inner 5-fold Spearman over the training genes, stopping
  when a feature adds less than 0.01 (``ConfidenceRegressor(forward=True)``).

Rule, written before the run: the candidate with the highest Spearman averaged over the four
pairs is adopted if it beats ``7 features`` by at least 0.02 on that average and is no more
than 0.03 below it on any pair; otherwise ``7 features`` stays.

Result (2026-11-27, results/confidence_nested.csv): mean Spearman over the four pairs
7 features 0.775, 8 features 0.804, forward 7 0.800, **forward 8 0.818** (osmFISH 0.771 vs
0.722, MERFISH 0.868 vs 0.846, Slide-seq 0.880 vs 0.782, Visium 0.754 vs 0.750): adopted,
now the default of ``ConfidenceRegressor``.

Run by hand: ``OMP_NUM_THREADS=1 python benchmarks/confidence_nested.py [CACHE_DIR]``;
results go to ``benchmarks/results/confidence_nested.csv``. Held-out predictions are cached
in CACHE_DIR (default ``/tmp/spaim-confidence-nested``) so that candidates can be rescored.
"""

import pickle
import sys
from functools import partial
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).parent))
from tune_defaults import SOURCES, pseudo_pair  # noqa: E402

from spaim.confidence import FEATURES, ConfidenceRegressor, cross_predict, nested_confidence  # noqa: E402
from spaim.pairing import prepare_pair  # noqa: E402

SEVEN = tuple(f for f in FEATURES if f != "reference_pcc")


CANDIDATES = {
    "7 features": partial(ConfidenceRegressor, SEVEN, forward=False),
    "8 features": partial(ConfidenceRegressor, FEATURES, forward=False),
    "forward 7": partial(ConfidenceRegressor, SEVEN, forward=True),
    "forward 8": partial(ConfidenceRegressor, FEATURES, forward=True),
}


def main(cache: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    out = Path(__file__).parent / "results" / "confidence_nested.csv"
    rows = []
    for name in SOURCES:
        st, ref = pseudo_pair(name)
        data = prepare_pair(st, ref, normalize=True, seed=0)
        path = cache / f"{name}.pkl"
        if path.exists():
            held = pickle.loads(path.read_bytes())
        else:
            held, _ = cross_predict(data, folds=5, seed=0, ensemble=2, progress=False)
            path.write_bytes(pickle.dumps(held))
        for label, regressor in CANDIDATES.items():
            panel = nested_confidence(data, held, regressor)
            rows.append({"candidate": label, "source": name, "genes": len(panel),
                         "spearman": spearmanr(panel["confidence"], panel["pcc"])[0],
                         "median_pcc": float(panel["pcc"].median()),
                         "rho_reference_pcc": spearmanr(panel["reference_pcc"], panel["pcc"])[0]})
            print(rows[-1], flush=True)
            pd.DataFrame(rows).to_csv(out, index=False)
    table = pd.DataFrame(rows).pivot(index="candidate", columns="source", values="spearman")
    table["mean"] = table.mean(axis=1)
    print(table.round(3).to_string())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/spaim-confidence-nested"))
