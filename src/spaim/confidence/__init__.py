"""Which imputed genes to trust: per-gene confidence and per-cell conformal intervals.

>>> model = spaim.SpaIM(st, sc).train().calibrate()
>>> imputed = model.impute()
>>> trusted = imputed[:, imputed.var["confidence"] >= 0.3]
"""

from spaim.confidence.calibrate import Calibration, ConfidenceRegressor, HeldOut, calibrate, cross_predict, nested_confidence
from spaim.confidence.features import FEATURES, gene_features
from spaim.confidence.intervals import ConformalIntervals

__all__ = [
    "FEATURES",
    "Calibration",
    "ConfidenceRegressor",
    "ConformalIntervals",
    "HeldOut",
    "calibrate",
    "cross_predict",
    "gene_features",
    "nested_confidence",
]
