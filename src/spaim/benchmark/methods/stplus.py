"""stPlus (Shengquan et al., Bioinformatics 2021) through its package ``stplus``."""

from __future__ import annotations

import sys
import tempfile
import types

import numpy as np
import pandas as pd

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, log_normalized, raw_counts, require


class StPlusMethod(Method):
    name = "stplus"
    preprocessing = Preprocessing(
        takes="library-size normalised log1p on each side (the package's documented input)",
        returns="SC normalised log1p of the held-out genes, averaged over neighbours in the joint embedding",
        to_log1p="as returned (a log scale; the metrics are insensitive to a per-gene factor)",
    )
    settings = (
        "stPlus() defaults (top_k=2000 HVGs, capped at the number of SC genes outside the panel, t_min=5, 50 neighbours, "
        "converge_ratio=0.004, max_epoch_num=10000, batch 512)"
    )

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        _stub_torchvision()
        _run_cuda_calls_on_cpu()
        stplus = require("stPlus", "stplus (installed with --no-deps)")
        test = inputs.test_genes(fold)
        # stPlus draws its top_k variable genes from the SC genes outside the panel; asking for more than
        # there are fails inside stPlus (Slide-seq: 6). With none at all it selects nothing and works.
        n_other = inputs.sc.n_vars - len(inputs.genes)
        options = ({"top_k": n_other} if 0 < n_other < 2000 else {}) | self.options
        # Li et al. 2022 (SpatialGenes.py) pass raw counts on both sides, not the documented log values.
        scale = raw_counts if options.pop("protocol", None) == "li2022" else log_normalized
        st = pd.DataFrame(scale(inputs.st.X[:, fold.train]), columns=[inputs.genes[i] for i in fold.train])
        sc = pd.DataFrame(scale(inputs.sc.X), columns=list(inputs.sc.var_names))
        with tempfile.TemporaryDirectory() as tmp:
            result = stplus.stPlus(st, sc, np.array(test), save_path_prefix=f"{tmp}/stPlus", random_seed=self.seed, verbose=False, **options)
        return result[test].to_numpy(np.float32)


def _stub_torchvision() -> None:
    """stPlus imports ``torchvision.datasets`` but never uses it; torchvision's wheels would replace the CPU torch."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        stub = types.ModuleType("torchvision")
        stub.datasets = types.ModuleType("torchvision.datasets")
        sys.modules.setdefault("torchvision", stub)
        sys.modules.setdefault("torchvision.datasets", stub.datasets)


def _run_cuda_calls_on_cpu() -> None:
    """stPlus 0.0.6 hard-codes CUDA (a CUDA default tensor type, ``.cuda()`` calls); make those no-ops on CPU.

    Safe only because each method runs in its own process (:mod:`spaim.benchmark.worker`).
    """
    import torch

    if torch.cuda.is_available():
        return
    set_default = torch.set_default_tensor_type
    torch.set_default_tensor_type = lambda t: set_default(str(t).replace("torch.cuda.", "torch."))
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.nn.Module.cuda = lambda self, *args, **kwargs: self
