"""spaim: impute unmeasured spatial transcriptomics genes from an scRNA-seq reference (SpaIM)."""

from spaim import metrics, pl, tiles, tl
from spaim.crossval import cross_validate
from spaim.errors import SpaIMInputError, SpaIMWarning
from spaim.model import SpaIM
from spaim.slides import impute_slides

__version__ = "0.1.0"
__all__ = ["SpaIM", "SpaIMInputError", "SpaIMWarning", "cross_validate", "impute_slides", "metrics", "pl", "tiles", "tl", "__version__"]
