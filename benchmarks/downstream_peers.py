"""Turn the benchmark's cached held-out predictions of other methods into imputed .h5ad files.

Usage: python benchmarks/downstream_peers.py OUT_DIR DATASET [DATASET ...]
Reuses runs/benchmark/cache as written by benchmarks/run_benchmark.sh (same folds, seed and
options; ``BENCHMARK_CACHE`` names another cache folder); every benchmark method but SpaIM and
kNN (imputed by downstream_impute.py) is taken where all its folds are cached, so nothing long runs here.
Writes OUT_DIR/DATASET/METHOD.h5ad: ST cells x shared genes, held-out predictions on the
normalised scale of the benchmark's leading scoring (count-scale outputs normalised by the
fold's training-gene size factors, :mod:`spaim.benchmark.scoring`).
"""

import os
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from spaim.benchmark.methods import REGISTRY
from spaim.benchmark.protocol import DatasetSpec, run_benchmark
from spaim.io import write_h5ad

CACHE = Path(os.environ.get("BENCHMARK_CACHE", "runs/benchmark/cache"))
#: The floors that predict nothing per cell (libsize, gene_mean) have no domains or DEGs to compare.
PEERS = tuple(m for m in REGISTRY if m not in ("spaim", "knn", "libsize", "gene_mean"))
FOLDS, SEED = 5, 0
#: The options of benchmarks/run_benchmark.sh (none: every method at its defaults), so the cache fingerprints match.
OPTIONS: dict[str, dict] = {}


def cached_peers(name: str) -> list[str]:
    done = []
    for peer in PEERS:
        if any(all((f / f"fold{k}.npz").is_file() for k in range(FOLDS)) for f in (CACHE / name).glob(f"{peer}-*")):
            done.append(peer)
    return done


def main(out: str, *names: str) -> None:
    for name in names:
        peers = cached_peers(name)
        if not peers:
            continue
        spec = DatasetSpec.bundled(name, allow_non_integer=True)
        result = run_benchmark([spec], peers, FOLDS, SEED, CACHE, OPTIONS, timeout_s=60, progress=False)[0]
        for peer, run in result.runs.items():
            if run.status != "ok":
                print(f"{name} {peer}: {run.status}")
                continue
            var = pd.DataFrame({"measured": True}, index=pd.Index(result.inputs.st_genes, dtype=str))
            # As in the metrics' policy, a non-finite prediction counts as no prediction (0 on log1p).
            normalized = result.prediction_panel(peer, "normalized")
            prediction = np.nan_to_num(normalized, nan=0.0, posinf=0.0, neginf=0.0)
            n_bad = int((~np.isfinite(normalized)).any(axis=0).sum())
            if n_bad:
                print(f"{name} {peer}: {n_bad} gene(s) with NaN/Inf predictions set to 0")
            version = ad.AnnData(prediction, obs=pd.DataFrame(index=result.inputs.st.obs_names), var=var)
            (Path(out) / name).mkdir(parents=True, exist_ok=True)
            write_h5ad(version, Path(out) / name / f"{peer}.h5ad", force=True)
            print(f"{name} {peer}: {version.shape}")


if __name__ == "__main__":
    main(*sys.argv[1:])
