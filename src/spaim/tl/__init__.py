"""Tools on a trained model, in the scanpy style: ``spaim.tl.attribute``."""

from spaim.tl.attribution import attribute, classify

__all__ = ["attribute", "classify"]
