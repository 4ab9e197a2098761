"""Plotting in the scanpy style: each function returns the matplotlib figure (``save=`` also writes a PNG).

Importing this module never changes the matplotlib backend.
"""

from spaim.pl.attributions import attributions
from spaim.pl.scores import cv_scores, history
from spaim.pl.spatial import measured_vs_imputed, spatial

__all__ = ["attributions", "cv_scores", "history", "measured_vs_imputed", "spatial"]
