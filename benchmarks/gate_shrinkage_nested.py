"""Shrinking the learned departure toward the transfer at prediction time, on nested validation genes (hand-run).

On MERFISH the gated departure (README step 4) took test-gene median PCC from 0.291 to 0.270,
and several genes score below the cluster-transfer floor (normalised scoring: Ttyh2 0.60 vs
0.71, Mc4r 0.05 vs 0.22, Cckar -0.01 vs 0.19). This script asks whether
a fixed share ``lam`` of the trained departure (prediction = transfer + lam * gate * departure)
predicts validation genes better than the whole of it (``lam = 1``, the package) or none of
it (``lam = 0``, the untrained transfer). One model per fit, its gate scaled after training;
the package's early stopping is unchanged.

Protocol and rule set before the run: those of ``benchmarks/nested_study.py``, each share
against ``lam = 1``; of several that pass, the highest mean.

Result (2026-11-27, ``results/gate_shrinkage_nested.csv``, median PCC at shares 0 / 0.25 /
0.5 / 0.75 / 1): MERFISH 0.2561 / 0.2577 / 0.2589 / 0.2603 / 0.2605, osmFISH 0.1978 /
0.2011 / 0.2044 / 0.2084 / 0.2120, seqFISH 0.3028 / 0.3029 / 0.3029 / 0.3029 / 0.3030,
Slide-seq 0.1389 / 0.1402 / 0.1421 / 0.1435 / 0.1429, Visium 0.0449 / 0.0476 / 0.0489 /
0.0496 / 0.0500. The whole departure is best or within 0.0006 of the best on every dataset:
no share passes, the package keeps ``lam = 1``. (Share 0 reproduces the untrained transfer's
figures of ``gated_departure_nested.py``'s ``additive`` run, which kept it in every fit.) On
the validation genes the departure helps MERFISH too; its loss on MERFISH's test genes is not
something a fixed shrinkage chosen this way would undo.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gate_shrinkage_nested.py [DATASET ...]  (default: all five)

A run over some of the datasets writes ``gate_shrinkage_nested_<datasets>.csv`` (two such runs
side by side, one per core, made the committed file, concatenated).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).parent))
from nested_study import scores, write  # noqa: E402

from spaim.benchmark.methods.spaim import nested_fits  # noqa: E402
from spaim.datasets import DATASETS  # noqa: E402
from spaim.model.imputer import SpaIM  # noqa: E402

SHARES = (0.0, 0.25, 0.5, 0.75, 1.0)


def nested_rows(name: str) -> pd.DataFrame:
    rows = []
    for data, outer, k, fit, truth, genes in nested_fits(name):
        model = SpaIM.from_paired_data(data.subset(fit), seed=0, threads=1).train(progress=False)
        gate = model.module.gate.detach().clone()
        for lam in SHARES:
            with torch.no_grad():
                model.module.gate.copy_(gate * lam)
            rows.append({"dataset": name, "outer": outer, "inner": k, "share": lam, "gate": float(gate.item()),
                         **scores(truth, model.predict(genes))})
        print(name, "outer fold", outer, "inner fold", k, flush=True)
    return pd.DataFrame(rows)


def main(names: list[str]) -> None:
    write((nested_rows(name) for name in names), "gate_shrinkage_nested", names, by="share")


if __name__ == "__main__":
    main(sys.argv[1:] or sorted(DATASETS))
