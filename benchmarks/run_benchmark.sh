#!/usr/bin/env bash
# Regenerate docs/benchmark: every bundled dataset, every method that runs here.
# Needs the benchmark environment (see benchmarks/README.md). Takes about an hour on 2 busy cores.
# Results are cached under runs/benchmark/cache: rerunning resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
SPAIM="${SPAIM:-.venv-bench/bin/spaim}"
OUT=runs/benchmark
"$SPAIM" benchmark --dataset slideseq_cerebellum,merfish_hypothalamus,seqfish_visp_cortex,osmfish_cortex,visium_lymphnode --allow-non-integer \
    --methods spaim,knn,spage,tangram,gimvi,stplus,novosparc \
    --folds 5 --seed 0 --timeout 900 \
    --option tangram.epochs=200 --option gimvi.epochs=100 --option stplus.max_epoch_num=500 \
    --out "$OUT" "$@"
mkdir -p docs/benchmark
cp "$OUT"/summary.csv "$OUT"/per_gene.csv "$OUT"/report.md "$OUT"/*.png docs/benchmark/
