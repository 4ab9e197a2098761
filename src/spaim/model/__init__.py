"""SpaIM networks, losses and the user-facing model."""

from spaim.model.imputer import SpaIM

__all__ = ["SpaIM"]
