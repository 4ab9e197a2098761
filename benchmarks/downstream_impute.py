"""Write SpaIM- and kNN-imputed versions of the real datasets for the downstream report.

Usage: python benchmarks/downstream_impute.py OUT_DIR FOLDS EPOCHS DATASET [DATASET ...]
Writes OUT_DIR/DATASET/{spaim,knn}.h5ad (skipping files already there); see run_downstream.sh.
"""

import sys
import time
import warnings
from pathlib import Path

from spaim import datasets
from spaim.downstream.imputation import impute_versions
from spaim.io import write_h5ad

#: seqFISH's reference holds processed values, not counts.
SETUP = {"seqfish_visp_cortex": {"allow_non_integer": True}}


def main(out: str, folds: str, epochs: str, *names: str) -> None:
    warnings.simplefilter("ignore")
    for name in names:
        folder = Path(out) / name
        folder.mkdir(parents=True, exist_ok=True)
        st, sc = datasets.load(name, download=False)
        for method in ("spaim", "knn"):
            path = folder / f"{method}.h5ad"
            if path.exists():
                continue
            start = time.time()
            setup = SETUP.get(name, {})
            version = impute_versions(st, sc, [method], folds=int(folds), max_epochs=int(epochs), **setup)[method]
            write_h5ad(version, path)
            new = int((~version.var["measured"]).sum())
            print(f"{name} {method}: {version.n_vars} genes ({new} new) in {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
