"""spaim: impute unmeasured spatial transcriptomics genes from an scRNA-seq reference (SpaIM)."""

import importlib

from spaim import metrics, tiles
from spaim.crossval import cross_validate
from spaim.errors import SpaIMInputError, SpaIMWarning
from spaim.model import SpaIM
from spaim.slides import impute_slides

__version__ = "0.1.0"
__all__ = ["SpaIM", "SpaIMInputError", "SpaIMWarning", "cross_validate", "impute_slides", "metrics", "pl", "tiles", "tl", "__version__"]

#: Imported on first use: they bring matplotlib and scanpy (and numba), which fitting and imputing never need.
_LAZY = ("pl", "tl")


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"spaim.{name}")
    raise AttributeError(f"module 'spaim' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
