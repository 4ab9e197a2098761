"""Seurat (Stuart et al., Cell 2019): anchors and ``TransferData``, run in R through ``Rscript``.

The fold's inputs go to a temporary folder as Matrix Market files, ``seurat_transfer.R``
(beside this module) runs the calls of Li et al.'s ``Codes/Impute/Seurat.r``, and the
imputed values come back as CSV.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
import scipy.sparse as sp

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing

INSTALL = "apt-get install r-base-core r-cran-seurat (see benchmarks/README.md)"


class SeuratMethod(Method):
    name = "seurat"
    output_scale = "log_normalized"
    preprocessing = Preprocessing(
        takes="raw counts on each side (the whole SC reference; ST training genes), LogNormalize'd by Seurat",
        returns="SC log-normalised expression (ln(1 + 1e4 x fraction)) transferred by anchor weights",
        to_log1p="as returned (a log-normalised scale)",
    )
    settings = (
        "Seurat 4 NormalizeData (LogNormalize, 1e4) on both, FindTransferAnchors(reduction='cca', k.filter=NA, "
        "dims=1:min(30, n_train-1)), TransferData(refdata=SC data, weight.reduction='pca', same dims), "
        "other arguments at Seurat's defaults, as in Li et al. 2022's Seurat.r (which skips NormalizeData: "
        "protocol='li2022' does too)"
    )

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        rscript = shutil.which("Rscript")
        if rscript is None:
            raise RuntimeError(f"not run: Rscript not found ({INSTALL})")
        # Neutral gene names: Seurat rewrites underscores in feature names, which would lose genes.
        sc_names = [f"gene{i}" for i in range(inputs.sc.n_vars)]
        position = inputs.sc.var_names.get_indexer(inputs.genes)
        train = [sc_names[i] for i in position[fold.train]]
        test = [sc_names[i] for i in position[fold.test]]
        with tempfile.TemporaryDirectory(prefix="spaim-seurat-") as tmp:
            folder = Path(tmp)
            scipy.io.mmwrite(folder / "sc.mtx", sp.csr_matrix(inputs.sc.X).T.tocoo())
            scipy.io.mmwrite(folder / "st.mtx", sp.csr_matrix(inputs.st.X[:, fold.train]).T.tocoo())
            # Li et al. 2022's Seurat.r skips NormalizeData: anchors and transferred values on the counts.
            normalize = "FALSE" if self.options.get("protocol") == "li2022" else "TRUE"
            files = {"sc_genes": sc_names, "train_genes": train, "test_genes": test, "seed": [str(self.seed)], "normalize": [normalize]}
            for name, values in files.items():
                (folder / f"{name}.txt").write_text("\n".join(values) + "\n")
            script = resources.files("spaim.benchmark.methods") / "seurat_transfer.R"
            with resources.as_file(script) as path:
                # R's messages go to the worker's output, i.e. the method's log.
                code = subprocess.run([rscript, str(path), str(folder)]).returncode
            if code != 0:
                raise RuntimeError(f"Rscript seurat_transfer.R exited with code {code} (R's error is in the method's log)")
            imputed = pd.read_csv(folder / "imputed.csv")
        return imputed[test].to_numpy(np.float32)
