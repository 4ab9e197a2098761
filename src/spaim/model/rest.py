"""The ReST (recursive style transfer) building blocks: layered encoders and cascaded decoders."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

NORMS = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


class LayeredEncoder(nn.Module):
    """A stack of Linear -> Norm -> ReLU layers that returns every layer's activation."""

    def __init__(self, n_input: int, widths: Sequence[int], norm: str = "layer") -> None:
        super().__init__()
        sizes = [n_input, *widths]
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Linear(a, b), NORMS[norm](b), nn.ReLU()) for a, b in zip(sizes[:-1], sizes[1:])
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        activations = []
        for layer in self.layers:
            x = layer(x)
            activations.append(x)
        return activations


class CascadeDecoder(nn.Module):
    """Fuses content and style per layer by element-wise product and sums the decoded layers.

    Decoding runs from the deepest layer up: ``p(k) = D(k)(h * g) + p(k-1)``.
    """

    def __init__(self, widths: Sequence[int], n_output: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(w, n_output) for w in widths)

    def forward(self, contents: list[torch.Tensor], styles: list[torch.Tensor]) -> torch.Tensor:
        out = None
        for layer, h, g in reversed(list(zip(self.layers, contents, styles))):
            decoded = layer(h * g)
            out = decoded if out is None else decoded + out
        return out
