"""A gate per gene, from the gene's SC profile, instead of one gate for all, on nested validation genes (hand-run).

The generator adds the learned departure to the transfer through one scalar gate (README step
4). On MERFISH's test genes the departure lowers several genes below the cluster-transfer
floor (Ttyh2, Mc4r, Cckar), while on the nested validation genes the whole departure is best
(``gate_shrinkage_nested.py``): one gate cannot keep the transfer for some genes and depart for
others. Here the gate of gene g is ``gate + w . s_g`` with ``s_g`` the summaries of its SC
cluster profile that the ``"profile"`` style input uses (mean, spread, maximum, minimum over
clusters: :func:`spaim.model.networks.profile_style`) and ``w`` trainable, starting at 0 (so
training starts from the package's generator exactly). It needs nothing measured in ST, so it
applies to genes to impute.

Protocol and rule set before the run: those of ``benchmarks/nested_study.py``.

Result (2026-11-27, ``results/gene_gate_nested.csv``, median PCC gene gate minus default on
MERFISH / osmFISH / seqFISH / Slide-seq / Visium): -0.0026 / +0.0033 / -0.0037 / -0.0004 /
+0.0002 (mean -0.0006, 2 of 5 higher). Rejected. Early stopping ends sooner with the extra
freedom (MERFISH 61 epochs on average instead of 95), and the SC-profile summaries do not
tell which genes the departure will hurt.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gene_gate_nested.py [DATASET ...]  (default: all five)

A run over some of the datasets writes ``gene_gate_nested_<datasets>.csv`` (two such runs side
by side, one per core, made the committed file, concatenated).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from unittest.mock import patch

import numpy as np
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))
from nested_study import run  # noqa: E402

from spaim.model import networks  # noqa: E402


def gene_gate():
    """The generator's gate as ``gate + w . profile_style(cluster profile)``, ``w`` starting at 0."""
    init = networks.SpaIMModule.__init__

    def new_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.gate_head = nn.Linear(4, 1, bias=False)
        nn.init.zeros_(self.gate_head.weight)

    def new_generate(self, sc, contents, styles):
        generated = self._decode(contents, styles)
        transfer = self.cells.transfer(sc[:, self.n_clusters :])
        gate = self.gate + self.gate_head(networks.profile_style(self.clusters(sc)))
        return transfer + gate * networks.relative_departure(generated, transfer)

    return patch.multiple(networks.SpaIMModule, __init__=new_init, _generate=new_generate)


CANDIDATES = {"default": (contextlib.nullcontext, {}), "gene_gate": (gene_gate, {})}


def gates(model) -> dict:
    head = getattr(model.module, "gate_head", None)
    return {"gate": float(model.module.gate.item()), "head_norm": np.nan if head is None else float(head.weight.detach().norm())}


if __name__ == "__main__":
    run("gene_gate_nested", CANDIDATES, gates)
