#!/usr/bin/env bash
# Regenerate docs/downstream/: SpaIM- and kNN-imputed versions of each real dataset (cached
# under runs/downstream/imputed), then `spaim downstream` per dataset and a summary report.
# Usage: bash benchmarks/run_downstream.sh [FOLDS] [EPOCHS]   (needs: pip install -e '.[downstream]')
# CARRY=1 keeps the committed tables and figures of every version not imputed or cached here
# (spaim downstream --carry docs/downstream/DATASET): the peers' versions come from the
# benchmark's cache, which a new machine does not have.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
FOLDS=${1:-5}
EPOCHS=${2:-300}
DATASETS=${DATASETS:-"visium_lymphnode seqfish_visp_cortex merfish_hypothalamus slideseq_cerebellum osmfish_cortex"}
IMPUTED=runs/downstream/imputed
DOCS=docs/downstream

$PY benchmarks/downstream_impute.py "$IMPUTED" "$FOLDS" "$EPOCHS" $DATASETS
# Peers from the benchmark's cache (benchmarks/run_benchmark.sh), where all their folds are there.
$PY benchmarks/downstream_peers.py "$IMPUTED" $DATASETS
for name in $DATASETS; do
  labels=()
  # Only the seqFISH ST data carry cell-type labels; the others use Leiden clusters of the measured data.
  [ "$name" = seqfish_visp_cortex ] && labels=(--labels-key cell_type)
  others=()
  carry=()
  [ -n "${CARRY:-}" ] && carry=(--carry "$DOCS/$name")
  for file in "$IMPUTED/$name"/*.h5ad; do
    peer=$(basename "$file" .h5ad)
    [ "$peer" = spaim ] || others+=(--imputed-other "$peer=$file")
  done
  $PY -m spaim.cli downstream --dataset "$name" --imputed "$IMPUTED/$name/spaim.h5ad" \
    "${others[@]}" "${labels[@]}" "${carry[@]}" --normalize --out "$DOCS/$name" --force \
    --title "Downstream analyses: $name (SpaIM, kNN and the benchmark's methods, $FOLDS-fold CV, library-size normalised)"
done
$PY benchmarks/downstream_summary.py "$DOCS" $DATASETS
