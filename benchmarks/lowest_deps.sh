#!/usr/bin/env bash
# Run the test suite with the lowest scipy (and, with TORCH=2.4.0, the lowest torch) that pyproject.toml allows (hand-run; results in
# benchmarks/results/lowest_deps.txt). scipy 1.11 predates numpy 2, so numpy stays below 2.
# With numpy < 2 pip picks spatialdata 0.4, whose xarray-schema imports pkg_resources
# (gone from setuptools >= 81) and whose pyarrow must predate numpy-2-only builds (< 21).
# TORCH=2.4.0 checks the torch floor (>= 2.4, fused CPU Adam) too: PyPI's Linux build, which
# brings its CUDA libraries (a few GB, unused on CPU); the default keeps the pinned CPU build.
set -euo pipefail
VENV=${VENV:-.venv-low}
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
TORCH=${TORCH:-2.13.0}
printf 'torch==%s\nscipy==1.11.1\nnumpy<2\nsetuptools<81\npyarrow<21\n' "$TORCH" > "$VENV/low.txt"
"$VENV/bin/pip" install -q -c "$VENV/low.txt" "torch==$TORCH" "setuptools<81"
"$VENV/bin/pip" install -q -c "$VENV/low.txt" -e ".[test,downstream,spatialdata]"
"$VENV/bin/python" -c "import scipy, numpy, torch, spatialdata; print('scipy', scipy.__version__, 'numpy', numpy.__version__, 'torch', torch.__version__, 'spatialdata', spatialdata.__version__)"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider
