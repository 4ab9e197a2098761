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
    "tissue": ("tissue", "TissueMethod"),
    "liger": ("liger", "LigerMethod"),
    "seurat": ("seurat", "SeuratMethod"),
    "spaotsc": ("spaotsc", "SpaOTscMethod"),
    "moscot": ("moscot", "MoscotMethod"),
    "envi": ("envi", "EnviMethod"),
    "sprite": ("sprite", "SpriteMethod"),
    "stdiff": ("stdiff", "StDiffMethod"),
}
#: Trivial predictors every table shows beside the methods (see :mod:`.floors`); ``knn`` is one too.
FLOORS = ("libsize", "gene_mean", "knn", "cluster_transfer")
#: Peers the SpaIM paper compares with that have no adapter here, with the reason.
NOT_AVAILABLE = {
    "spatialscope": (
        "no package on the index; its defaults train 18,554 steps of batch 256 on the smallest reference "
        "(slideseq_cerebellum) and one step takes 21 s of CPU on this machine (1 thread, 4.4 GB resident; "
        "benchmarks/peer_step_time.py): 108 h of training per fold against the benchmark's 1 h per dataset; "
        "it needs a CUDA GPU, and the sessions' GPU time went to stDiff"
    ),
}


def method_class(name: str) -> type[Method]:
    """The adapter class of method ``name``."""
    if name not in REGISTRY:
        if name in NOT_AVAILABLE:
            raise SpaIMInputError(f"method '{name}' cannot be run: {NOT_AVAILABLE[name]}.")
        raise SpaIMInputError(f"unknown method '{name}': choose from {', '.join(REGISTRY)}.")
    module, cls = REGISTRY[name]
    return getattr(importlib.import_module(f"spaim.benchmark.methods.{module}"), cls)
