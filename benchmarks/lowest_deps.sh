#!/usr/bin/env bash
# Run the test suite with the lowest scipy that pyproject.toml allows (hand-run; results in
# benchmarks/results/lowest_deps.txt). scipy 1.11 predates numpy 2, so numpy stays below 2.
# torch stays at the pinned CPU build: the only torch 2.4 wheels a pip client reaches here
# pull the multi-GB CUDA stack, so the torch floor (>= 2.4, fused CPU Adam) is not run here.
set -euo pipefail
VENV=${VENV:-.venv-low}
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
printf 'torch==2.13.0\nscipy==1.11.1\nnumpy<2\n' > "$VENV/low.txt"
"$VENV/bin/pip" install -q -c "$VENV/low.txt" torch==2.13.0
"$VENV/bin/pip" install -q -c "$VENV/low.txt" -e ".[test,downstream,spatialdata]"
"$VENV/bin/python" -c "import scipy, numpy, torch; print('scipy', scipy.__version__, 'numpy', numpy.__version__, 'torch', torch.__version__)"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider
