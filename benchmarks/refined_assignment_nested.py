"""A transfer whose cell-to-metacell weights are refined in training, on nested validation genes (hand-run).

The cell-level loss study (commit afe1b8b) found that the cells' identity in a generated
profile comes from the fixed transfer: each ST cell's weights on the SC metacells, chosen
before training (README step 3) and never changed by it. This script asks whether letting
training refine those weights helps: each weight is multiplied by ``exp(shift)`` and the
cell's row renormalised, with ``shift`` a trainable cells x metacells matrix starting at 0
(so training starts from the package's transfer exactly, and a metacell a cell has no
weight on stays at zero: the refinement reorders the support the mapping chose, as Tangram's
gene-wise objective would, without Tangram's free cells x cells matrix). Early stopping on
the package's validation genes still compares every epoch with the untrained state.

Protocol and rule set before the run: those of ``benchmarks/nested_study.py``. Cell-wise PCC
of the validation genes reported beside.

Result (2026-11-27, ``results/refined_assignment_nested.csv``, median PCC refined minus
default on MERFISH / osmFISH / seqFISH / Slide-seq / Visium): -0.0044 / +0.0028 / -0.153 /
-0.0030 / -0.0228 (mean -0.036). Rejected. With the weights free to move, early stopping on
the few validation genes no longer guards the transfer: on seqFISH the kept shifts are large
(root mean square 0.44, 201 epochs on average) and the validation genes lose half their PCC,
while 24 of the 75 fits keep the untrained weights. Cell-wise PCC rises on seqFISH only
(0.026 -> 0.062), with the genes' PCC falling.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/refined_assignment_nested.py [DATASET ...]  (default: all five)
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from unittest.mock import patch

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from nested_study import run  # noqa: E402

from spaim.model import networks  # noqa: E402


def refined_assignment():
    """Cell-to-metacell weights times exp(trainable shift), renormalised per cell."""
    init = networks.CellBasisLayers.__init__

    def new_init(self, n_cells, n_features, n_metacells):
        init(self, n_cells, n_features, n_metacells)
        self.shift = nn.Parameter(torch.zeros(n_cells, n_metacells))

    def new_transfer(self, sc):
        weights = self.assignment * torch.exp(self.shift)
        return sc @ (weights / weights.sum(dim=1, keepdim=True).clamp_min(1e-12)).T

    return patch.multiple(networks.CellBasisLayers, __init__=new_init, transfer=new_transfer)


CANDIDATES = {"default": (contextlib.nullcontext, {}), "refined": (refined_assignment, {})}


def shift_size(model) -> dict:
    shift = getattr(model.module.cells, "shift", None)
    return {"shift_rms": np.nan if shift is None else float(shift.detach().pow(2).mean().sqrt())}


if __name__ == "__main__":
    run("refined_assignment_nested", CANDIDATES, shift_size)
