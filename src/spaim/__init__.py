"""spaim: impute unmeasured spatial transcriptomics genes from an scRNA-seq reference (SpaIM)."""

from spaim import metrics, tiles
from spaim.crossval import cross_validate
from spaim.errors import SpaIMInputError, SpaIMWarning
from spaim.model import SpaIM

__version__ = "0.1.0"
__all__ = ["SpaIM", "SpaIMInputError", "SpaIMWarning", "cross_validate", "metrics", "tiles", "__version__"]
