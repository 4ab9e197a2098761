#!/usr/bin/env bash
# Regenerate docs/benchmark: every bundled dataset, every method that runs here, each peer at its
# own defaults (no budget overrides), 1 thread per method. Needs the benchmark environment
# (benchmarks/README.md). Hours on 2 busy cores: run it with nohup; results are cached under
# runs/benchmark/cache, so rerunning resumes where it stopped (METHODS=... runs a subset).
set -euo pipefail
cd "$(dirname "$0")/.."
SPAIM="${SPAIM:-.venv-bench/bin/spaim}"
OUT="${OUT:-runs/benchmark}"
METHODS="${METHODS:-spaim,spaim_paper,libsize,gene_mean,knn,cluster_transfer,spage,tangram,gimvi,stplus,novosparc}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1
# Finished folds of peer runs that outlast a session, committed so that a new machine resumes them
# (benchmarks/README.md, "Runs longer than a session"); folds already in the cache are kept.
if [ -d benchmarks/partial_folds ]; then mkdir -p "$OUT/cache" && cp -rn benchmarks/partial_folds/. "$OUT/cache/"; fi
"$SPAIM" benchmark --dataset slideseq_cerebellum,merfish_hypothalamus,seqfish_visp_cortex,osmfish_cortex,visium_lymphnode \
    --allow-non-integer --methods "$METHODS" --folds 5 --seed 0 --timeout 7200 --out "$OUT" "$@"
mkdir -p docs/benchmark
cp "$OUT"/summary.csv "$OUT"/per_gene.csv "$OUT"/report.md "$OUT"/*.png docs/benchmark/
# The third scoring (Li et al. 2022's protocol, osmFISH): scores its cached runs into summary.csv and report.md.
"$(dirname "$SPAIM")/python" benchmarks/published_osmfish.py --report
