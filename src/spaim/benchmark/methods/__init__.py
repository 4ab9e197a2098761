"""Method adapters, by name. Each lives in its own module, imported only when used."""

from __future__ import annotations

import importlib

from spaim.benchmark.methods.base import Method
from spaim.errors import SpaIMInputError

#: method name -> module and class implementing it
REGISTRY = {
    "spaim": ("spaim", "SpaIMMethod"),
    "spaim_paper": ("spaim", "SpaIMPaperMethod"),
    "knn": ("knn", "KNNMethod"),
    "spage": ("spage", "SpaGEMethod"),
    "tangram": ("tangram", "TangramMethod"),
    "gimvi": ("gimvi", "GimVIMethod"),
    "stplus": ("stplus", "StPlusMethod"),
    "novosparc": ("novosparc", "NovoSpaRcMethod"),
    "libsize": ("floors", "LibrarySizeFloor"),
    "gene_mean": ("floors", "GeneMeanFloor"),
    "cluster_transfer": ("floors", "ClusterTransferFloor"),
}
#: Trivial predictors every table shows beside the methods (see :mod:`.floors`); ``knn`` is one too.
FLOORS = ("libsize", "gene_mean", "knn", "cluster_transfer")
#: Peers the SpaIM paper compares with that have no adapter here, with the reason.
NOT_AVAILABLE = {
    "tissue": "tissue-sc 1.0.1 installs (with harmonypy==0.0.10) but has no adapter yet",
    "stdiff": "stdiff-sc 1.1.4 installs only with --no-deps (plus einops) and has no adapter yet",
    "liger": "pyliger 0.2.4 installs but has no adapter yet",
    "sprite": "no package on the index (the index's 'sprite' is an unrelated project)",
    "spatialscope": "no package on the index",
    "seurat": "R package; no Python adapter",
    "spaotsc": "no package on the index",
}


def method_class(name: str) -> type[Method]:
    """The adapter class of method ``name``."""
    if name not in REGISTRY:
        if name in NOT_AVAILABLE:
            raise SpaIMInputError(f"method '{name}' cannot be run: {NOT_AVAILABLE[name]}.")
        raise SpaIMInputError(f"unknown method '{name}': choose from {', '.join(REGISTRY)}.")
    module, cls = REGISTRY[name]
    return getattr(importlib.import_module(f"spaim.benchmark.methods.{module}"), cls)
