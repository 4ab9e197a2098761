"""The data-derived style input (``style_input="profile"``) against the constant, on nested validation genes (hand-run).

The paper feeds the generator's style encoder a constant and names a data-derived style as
its next step; issue 13 lists it among the ways to carry more of each gene into the
generator. The package offers the profile's summaries (mean, spread, maximum and minimum
over SC clusters: :func:`spaim.model.networks.profile_style`) as ``style_input="profile"``;
its default stayed ``"constant"`` from the pseudo-pair tuning of ``benchmarks/tune_defaults.py``,
which predates the gated departure (README step 4). This asks again, with the generator as
it is now.

Protocol and rule set before the run: those of ``benchmarks/nested_study.py``.

Result (2026-11-27, ``results/style_input_nested.csv``, median PCC profile minus constant on
MERFISH / osmFISH / seqFISH / Slide-seq / Visium): -0.0037 / -0.0019 / +0.0001 / +0.0005 /
-0.0004 (mean -0.0011, 2 of 5 higher). Rejected: the constant stays the default.

A run over some of the datasets writes ``style_input_nested_<datasets>.csv`` (two such runs side
by side, one per core, made the committed file, concatenated).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/style_input_nested.py [DATASET ...]  (default: all five)
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).parent))
from nested_study import run  # noqa: E402

from spaim.model import networks  # noqa: E402


def profile_style_input():
    """Every module built with ``style_input="profile"`` (the model's other options unchanged)."""
    init = networks.SpaIMModule.__init__

    def new_init(self, *args, **kwargs):
        init(self, *args, **(kwargs | {"style_input": "profile"}))

    return patch.multiple(networks.SpaIMModule, __init__=new_init)


CANDIDATES = {"constant": (contextlib.nullcontext, {}), "profile": (profile_style_input, {})}


def style(model) -> dict:
    return {"style_input": model.module.style_input}


if __name__ == "__main__":
    run("style_input_nested", CANDIDATES, style)
