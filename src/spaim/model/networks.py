"""The SpaIM module: an ST autoencoder and an ST generator sharing their decoders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from spaim.model.rest import NORMS, CascadeDecoder, LayeredEncoder


@dataclass
class SpaIMOutputs:
    """Every tensor the losses need, per batch of genes."""

    st_content: list[torch.Tensor]
    st_style: list[torch.Tensor]
    sc_content: list[torch.Tensor]
    sc_style: list[torch.Tensor]
    reconstruction: torch.Tensor
    generation: torch.Tensor


class SpaIMModule(nn.Module):
    """Two networks over genes as samples.

    The ST autoencoder encodes a gene's ST profile (length ``n_cells``) into content and
    style; the ST generator encodes the gene's SC cluster profile (length ``n_clusters``)
    into content and a constant input into the ST style. Both decode with the same
    :class:`CascadeDecoder` to a profile over the ST cells.
    """

    def __init__(self, n_cells: int, n_clusters: int, widths: Sequence[int] = (512, 256), norm: str = "layer") -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {sorted(NORMS)}, got '{norm}'")
        self.st_content = LayeredEncoder(n_cells, widths, norm)
        self.st_style = LayeredEncoder(n_cells, widths, norm)
        self.sc_content = LayeredEncoder(n_clusters, widths, norm)
        self.sc_style = LayeredEncoder(1, widths, norm)
        self.decoder = CascadeDecoder(widths, n_cells)

    def _constant_style(self, n_genes: int, like: torch.Tensor) -> list[torch.Tensor]:
        return self.sc_style(torch.ones(n_genes, 1, dtype=like.dtype, device=like.device))

    def forward(self, st: torch.Tensor, sc: torch.Tensor) -> SpaIMOutputs:
        st_content, st_style = self.st_content(st), self.st_style(st)
        sc_content, sc_style = self.sc_content(sc), self._constant_style(sc.shape[0], sc)
        return SpaIMOutputs(
            st_content=st_content,
            st_style=st_style,
            sc_content=sc_content,
            sc_style=sc_style,
            reconstruction=self.decoder(st_content, st_style),
            generation=self.decoder(sc_content, sc_style),
        )

    def generate(self, sc: torch.Tensor) -> torch.Tensor:
        """ST profiles (genes x cells) generated from SC cluster profiles (genes x clusters)."""
        return self.decoder(self.sc_content(sc), self._constant_style(sc.shape[0], sc))
