"""SpaOTsc (Cang & Nie, Nat. Commun. 2020): unbalanced optimal transport of SC cells to ST cells.

SpaOTsc has no package on the index; its source (MIT) is in ``shared/peers-src/SpaOTsc``
(or a folder named by ``$SPAIM_SPAOTSC_SRC``). It is called as Li et al. (2022) call it in
``Benchmarking/SpatialGenes.py``: cost ``exp(1 - rho)^2`` from the Spearman correlation
of each SC cell with each ST cell over the training genes, ``transport_plan(alpha=0,
rho=1, epsilon=1)``, then each ST cell's prediction is the transport-weighted mean of
the SC cells.
"""

from __future__ import annotations

import sys
import types
from types import ModuleType

import numpy as np
import pandas as pd
from scipy.spatial import distance_matrix
from scipy.stats import spearmanr

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing, log_normalized, raw_counts
from spaim.benchmark.methods.peer_source import import_from_source
from spaim.errors import SpaIMInputError


class SpaOTscMethod(Method):
    name = "spaotsc"
    output_scale = "log_normalized"
    preprocessing = Preprocessing(
        takes="library-size normalised log1p on each side (Spearman costs are the same on counts); ST coordinates",
        returns="SC normalised log1p averaged with the transport plan's weights (columns normalised to 1)",
        to_log1p="as returned (a log-normalised scale)",
    )
    settings = (
        "spatial_sc(sc_data, is_data, is_dmat).transport_plan(exp(1 - spearman)^2, cor_matrix=spearman, alpha=0, "
        "rho=1.0, epsilon=1.0, scaling=False), as in Li et al. 2022's SpatialGenes.py"
    )

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        if "spatial" not in inputs.st.obsm:
            raise SpaIMInputError("SpaOTsc needs ST coordinates (obsm['spatial'] or obs x/y columns).")
        spaotsc = import_spaotsc()
        train = [inputs.genes[i] for i in fold.train]
        # Li et al. 2022 (SpatialGenes.py) read raw counts on both sides. Spearman ranks within a cell, so
        # the transport plan is the same either way; only the SC values it averages change.
        scale = raw_counts if self.options.get("protocol") == "li2022" else log_normalized
        sc = pd.DataFrame(scale(inputs.sc.X), columns=inputs.sc.var_names)
        st = pd.DataFrame(scale(inputs.st.X[:, fold.train]), columns=train)
        points = np.asarray(inputs.st.obsm["spatial"], dtype=float)[:, :2]
        rho = spearmanr(st.to_numpy(), sc[train].to_numpy(), axis=1)[0][st.shape[0]:, : st.shape[0]]
        rho[np.isnan(rho)] = 0  # constant cells
        model = spaotsc.spatial_sc(sc_data=sc, is_data=st, is_dmat=distance_matrix(points, points))
        gamma = model.transport_plan(np.exp(1 - rho) ** 2, cor_matrix=rho, alpha=0, rho=1.0, epsilon=1.0, scaling=False)
        gamma = gamma / gamma.sum(axis=0, keepdims=True)
        return (gamma.T @ sc[inputs.test_genes(fold)].to_numpy()).astype(np.float32)


def import_spaotsc() -> ModuleType:
    """``spaotsc.SpaOTsc`` from its source snapshot."""
    # SpaOTsc (2019) spells infinity np.Inf, removed in numpy 2: restore the alias (this process only).
    np.Inf = np.inf
    _stub_dit_lattice()
    return import_from_source("spaotsc.SpaOTsc", "SpaOTsc")


def _stub_dit_lattice() -> None:
    """SpaOTsc imports ``dit.pid.lattice.sort_key`` (gone in dit 2) for its signalling analysis, never for the mapping."""
    try:
        import dit.pid.lattice  # noqa: F401
    except ImportError:
        def sort_key(*args, **kwargs):
            raise NotImplementedError("dit.pid.lattice.sort_key is not available in this dit version")

        lattice = types.ModuleType("dit.pid.lattice")
        lattice.sort_key = sort_key
        sys.modules["dit.pid.lattice"] = lattice
