"""How far the per-gene confidence's features can go: an in-sample ceiling per dataset (issue 8, look only).

Issue 8 asks for a Spearman correlation of at least 0.5 between predicted confidence and
held-out PCC on every bundled dataset. This script asks whether the features could reach it
at all, from the per-gene table that ``benchmarks/confidence.py`` writes
(``docs/confidence/per_gene.csv``: each panel gene's held-out PCC, its features and its
nested confidence):

- ``nested``: the package's confidence, each gene scored by a regression that never saw it
  (the number the report quotes);
- ``best_feature``: the feature with the largest |Spearman| with held-out PCC (its sign
  read off the scored genes themselves);
- ``ridge_in_sample``: a ridge regression on the ranks of every feature, fitted on the very
  genes it scores (penalty by leave-one-out, ``RidgeCV``). No honest confidence built from
  these features in a linear way can order the genes better than this, since it is fitted
  to the answer;
- ``sc_vs_st_level``: Spearman correlation over the panel between a gene's ``sc_mean`` and
  its mean ST count (the ST side, which no confidence may read): whether the reference
  tells at all how strongly the platform detects a gene; ``pcc_vs_st_level`` and
  ``pcc_vs_st_detection``: held-out PCC against the gene's mean ST count and the share of
  ST cells detecting it.

Nothing here chooses anything: it reads the benchmark's genes, so it only bounds what the
features can say.

    .venv/bin/python benchmarks/confidence_ceiling.py [PER_GENE_CSV]

Writes ``benchmarks/results/confidence_ceiling.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata, spearmanr
from sklearn.linear_model import RidgeCV

from spaim import datasets
from spaim.confidence import FEATURES
from spaim.io import atomic_path

OUT = Path("benchmarks/results/confidence_ceiling.csv")


def ceiling(genes: pd.DataFrame) -> dict:
    """The nested, best single-feature and in-sample ridge Spearman correlations of one dataset's genes."""
    present = [f for f in FEATURES if genes[f].nunique() > 1]  # a constant feature (seqFISH's active clusters) says nothing
    rho = {f: spearmanr(genes[f], genes["pcc"], nan_policy="omit")[0] for f in present}
    best = max(rho, key=lambda f: abs(rho[f]))
    ranks = np.column_stack([rankdata(genes[f].fillna(genes[f].median())) for f in present])
    fitted = RidgeCV(alphas=np.logspace(-2, 4, 25)).fit(ranks, rankdata(genes["pcc"]))
    return {"genes": len(genes), "nested": spearmanr(genes["confidence"], genes["pcc"])[0], "best_feature": best,
            "best_feature_rho": abs(rho[best]), "ridge_in_sample": spearmanr(fitted.predict(ranks), genes["pcc"])[0]}


def st_side(name: str, genes: pd.DataFrame) -> dict:
    """How the genes' ST level and detection relate to their SC mean and held-out PCC on dataset ``name``."""
    st, _ = datasets.load(name, None, download=False)
    counts = st[:, genes["gene"].to_numpy()].X
    counts = counts.toarray() if sp.issparse(counts) else np.asarray(counts)
    level, detection = counts.mean(axis=0), (counts > 0).mean(axis=0)
    return {"sc_vs_st_level": spearmanr(genes["sc_mean"], level)[0], "pcc_vs_st_level": spearmanr(genes["pcc"], level)[0],
            "pcc_vs_st_detection": spearmanr(genes["pcc"], detection)[0]}


def main() -> None:
    table = pd.read_csv(sys.argv[1] if len(sys.argv) > 1 else "docs/confidence/per_gene.csv")
    rows = pd.DataFrame([
        {"dataset": name} | ceiling(genes) | st_side(name, genes)
        for name, genes in table.groupby("dataset", sort=False)
    ])
    with atomic_path(OUT, force=True) as tmp:
        rows.to_csv(tmp, index=False, float_format="%.4f")
    print(rows.round(3).to_string(index=False))


if __name__ == "__main__":
    main()
