#!/usr/bin/env bash
# Create the benchmark environment (every peer that installs here) in VENV (default .venv-bench).
# The steps benchmarks/README.md lists, in order; Seurat's R packages need root (apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv-bench}
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q torch==2.13.0
"$VENV/bin/pip" install -q -c constraints.txt -e '.[test,benchmark]'
"$VENV/bin/pip" install -q -c constraints.txt --no-deps stplus==0.0.6
"$VENV/bin/pip" install -q -c constraints.txt --no-deps stdiff-sc==1.1.4 einops
"$VENV/bin/pip" install -q -c constraints.txt astropy louvain progressbar==2.5 umap-learn dit 'setuptools<81'
command -v Rscript >/dev/null || apt-get install -y r-base-core r-cran-seurat
# stPlus and ENVI import only through their adapters (stubs and a JAX fix-up): the smoke tests check them.
"$VENV/bin/python" -c "import tangram, scvi, novosparc, tissue, pyliger, moscot, ot; print('benchmark environment ready')"
echo "check every peer: $VENV/bin/python -m pytest -q tests/benchmark"
