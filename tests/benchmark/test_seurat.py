import shutil

import numpy as np
import pytest

from spaim.benchmark.inputs import build_inputs
from spaim.benchmark.methods import method_class

from ._smoke import predicts_held_out_genes


@pytest.fixture
def rscript():
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not found (apt-get install r-base-core r-cran-seurat, see benchmarks/README.md)")


def test_seurat_predicts_every_held_out_gene(pair, rscript):
    predicts_held_out_genes("seurat", pair)


def test_seurat_under_li2022_transfers_counts_without_normalising(pair, rscript):
    # Li et al.'s Seurat.r never calls NormalizeData: the transferred values are on the SC count scale.
    logged = predicts_held_out_genes("seurat", pair)
    counts = predicts_held_out_genes("seurat", pair, protocol="li2022")
    assert counts.max() > logged.max() and not np.allclose(counts, logged)


def test_seurat_without_r_says_so(pair, monkeypatch):
    monkeypatch.setenv("PATH", "")
    st, sc = pair
    inputs = build_inputs(st[:50].copy(), sc[:50].copy())
    with pytest.raises(RuntimeError, match="not run: Rscript not found"):
        method_class("seurat")(seed=0).predict(inputs, inputs.folds(3, seed=0)[0])
