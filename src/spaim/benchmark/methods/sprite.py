"""SPRITE (Sun et al., 2024): Reinforce and Smooth on top of a base method's predictions.

SPRITE has no package on the index; its source (MIT) is in ``shared/peers-src/SPRITE`` (or
``$SPAIM_PEERS_SRC``). The base method is the one its Quick Start uses, SpaGE as shipped
with SPRITE (10 principal vectors), predicting the held-out genes plus every training gene
by 10-fold cross-validation (the residuals Reinforce propagates through the gene graph).
"""

from __future__ import annotations

import numpy as np

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing
from spaim.benchmark.methods.peer_source import import_from_source
from spaim.benchmark.methods.tissue import peer_pair
from spaim.errors import SpaIMInputError

PREDICTED = "spage_predicted_expression"


class SpriteMethod(Method):
    name = "sprite"
    output_scale = "log_normalized"
    preprocessing = Preprocessing(
        takes="SC normalize_total + log1p (preprocess_data(normalize=True)); ST raw counts and coordinates, as in SPRITE's Quick Start; "
        "training genes constant on either side left out (SpaGE z-scores genes)",
        returns="SpaGE's SC log-normalised predictions, corrected by residuals against the ST values (Reinforce) and smoothed over the spatial graph",
        to_log1p="as returned (the base's log-normalised scale)",
    )
    settings = (
        "base SpaGE (SPRITE's copy) via predict_gene_expression(method='spage', n_folds=10, n_pv=10); "
        "reinforce_gene(alpha=0.1, tol=1e-8, cv=5); build_spatial_graph(method='fixed_radius', n_neighbors=50); "
        "calc_adjacency_weights(method='cosine'); smooth(alpha=0.1, tol=1e-8): SPRITE's Quick Start"
    )

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        if "spatial" not in inputs.st.obsm:
            raise SpaIMInputError("SPRITE needs ST coordinates (obsm['spatial'] or obs x/y columns).")
        sprite = import_from_source("sprite.sprite", "SPRITE")
        st, sc, test = peer_pair(inputs, fold)
        sprite.preprocess_data(sc, standardize=False, normalize=True)
        np.random.seed(self.seed)
        sprite.predict_gene_expression(st, sc, test, method="spage", n_folds=10, n_pv=10)
        sprite.reinforce_gene(st, predicted=PREDICTED, alpha=0.1, tol=1e-8, cv=5)
        sprite.build_spatial_graph(st, method="fixed_radius", n_neighbors=50)
        sprite.calc_adjacency_weights(st, method="cosine")
        sprite.smooth(st, predicted=f"reinforced_gene_joint_{PREDICTED}", alpha=0.1, tol=1e-8)
        return st.obsm[f"smoothed_reinforced_gene_joint_{PREDICTED}"][test].to_numpy(np.float32)
