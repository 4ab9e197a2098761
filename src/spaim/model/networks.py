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


ARCHITECTURES = ("cellbasis", "paper")
STYLE_INPUTS = ("constant", "profile")


def profile_style(sc: torch.Tensor) -> torch.Tensor:
    """A gene's style input from its SC cluster profile: mean, spread, maximum and minimum over clusters.

    The paper feeds the generator's style encoder a constant and names a data-derived
    style as its next step; these summaries tell genes apart by level and specificity,
    which is what platforms capture differently.
    """
    return torch.stack([sc.mean(dim=1), sc.std(dim=1, unbiased=False), sc.amax(dim=1), sc.amin(dim=1)], dim=1)


def relative_departure(decoded: torch.Tensor, transfer: torch.Tensor) -> torch.Tensor:
    """The decoded departure of each gene (row) rescaled to the spread of its transfer over cells.

    Its root mean square over cells becomes the transfer's standard deviation. Without it one
    Adam step of the decoder moved every gene's profile by about the same amount, which
    swamped the genes whose transfer varies little over cells (most of a panel, on the
    scale-free Pearson loss): validation genes lost from the first epoch at every step size
    tried, and 24 of 25 benchmark fits kept the untrained transfer (docs/benchmark/history.md).
    """
    rms = decoded.pow(2).mean(dim=1, keepdim=True).sqrt()
    return decoded / (rms + 1e-6) * transfer.std(dim=1, keepdim=True)


class CellBasisLayers(nn.Module):
    """The cell-wide ends of the network, expressed through fixed ST-cell features.

    ``project`` maps a gene's ST profile (genes x cells) to its mean over cells of each
    feature (genes x features); ``expand`` maps feature coefficients back to cells and adds
    a free per-cell offset; ``transfer`` maps a gene's SC metacell profile to the cells
    through their weights on the metacells (the transfer path). Parameters grow with the
    number of features, not of cells (beyond the offset).
    """

    def __init__(self, n_cells: int, n_features: int, n_metacells: int) -> None:
        super().__init__()
        self.register_buffer("features", torch.zeros(n_cells, n_features))
        self.register_buffer("assignment", torch.zeros(n_cells, n_metacells))
        self.offset = nn.Parameter(torch.zeros(n_cells))

    def set_basis(self, features: torch.Tensor, assignment: torch.Tensor) -> None:
        self.features.copy_(features)
        self.assignment.copy_(assignment)

    def project(self, st: torch.Tensor) -> torch.Tensor:
        return st @ self.features / self.features.shape[0]

    def expand(self, coefficients: torch.Tensor) -> torch.Tensor:
        return coefficients @ self.features.T + self.offset

    def transfer(self, sc: torch.Tensor) -> torch.Tensor:
        return sc @ self.assignment.T


class SpaIMModule(nn.Module):
    """Two networks over genes as samples.

    The ST autoencoder encodes a gene's ST profile (length ``n_cells``) into content and
    style; the ST generator encodes the gene's SC cluster profile (length ``n_clusters``)
    into content, and a constant (``style_input="constant"``, the paper) or the profile's
    summaries (``"profile"``, :func:`profile_style`) into the ST style. Both decode with the same
    :class:`CascadeDecoder` to a profile over the ST cells.

    With ``n_features`` (the ``"cellbasis"`` architecture) the cell-wide layers go through
    :class:`CellBasisLayers`: the ST encoders read the profile's projection on the cell
    features, the decoder writes coefficients of the features, and the generator adds the
    transfer path from the gene's ``n_metacells`` SC metacell profile, so that what the
    network learns is how each gene departs from the pattern its SC cells give in the
    tissue: the departure, rescaled to the spread of the gene's transfer
    (:func:`relative_departure`), enters through a scalar ``gate`` that starts at 0. A
    gene's SC input (``sc`` below) is then its cluster profile followed by its metacell
    profile. Without it (``"paper"``) the first encoder layer and the decoder
    layers are ``n_cells`` wide, as in the paper, and the SC input is the cluster profile.
    """

    def __init__(
        self, n_cells: int, n_clusters: int, widths: Sequence[int] = (512, 256), norm: str = "layer",
        n_features: int | None = None, style_input: str = "constant", n_metacells: int = 0,
    ) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {sorted(NORMS)}, got '{norm}'")
        if style_input not in STYLE_INPUTS:
            raise ValueError(f"style_input must be one of {STYLE_INPUTS}, got '{style_input}'")
        self.style_input = style_input
        self.n_clusters = n_clusters
        self.cells = None if n_features is None else CellBasisLayers(n_cells, n_features, n_metacells)
        width_in = n_cells if self.cells is None else n_features
        self.st_content = LayeredEncoder(width_in, widths, norm)
        self.st_style = LayeredEncoder(width_in, widths, norm)
        self.sc_content = LayeredEncoder(n_clusters, widths, norm)
        self.sc_style = LayeredEncoder(1 if style_input == "constant" else 4, widths, norm)
        self.decoder = CascadeDecoder(widths, width_in)
        if self.cells is not None:
            # The generator starts as plain transfer (gate 0) and the learned departure enters through
            # one scalar: early stopping on validation genes can still keep the transfer alone.
            self.gate = nn.Parameter(torch.zeros(1))

    def constant_state(self) -> set[str]:
        """State-dict keys that training never changes: the cell basis, set once before it (cells x features)."""
        return set() if self.cells is None else {"cells.features", "cells.assignment"}

    def clusters(self, sc: torch.Tensor) -> torch.Tensor:
        """The cluster profile part of genes' SC input (what the generator's encoders read)."""
        return sc[:, : self.n_clusters]

    def _constant_style(self, n_genes: int, like: torch.Tensor) -> list[torch.Tensor]:
        return self.sc_style(torch.ones(n_genes, 1, dtype=like.dtype, device=like.device))

    def _sc_style(self, sc: torch.Tensor) -> list[torch.Tensor]:
        if self.style_input == "constant":
            return self._constant_style(sc.shape[0], sc)
        return self.sc_style(profile_style(self.clusters(sc)))

    def _decode(self, contents: list[torch.Tensor], styles: list[torch.Tensor]) -> torch.Tensor:
        decoded = self.decoder(contents, styles)
        return decoded if self.cells is None else self.cells.expand(decoded)

    def _generate(self, sc: torch.Tensor, contents: list[torch.Tensor], styles: list[torch.Tensor]) -> torch.Tensor:
        generated = self._decode(contents, styles)
        if self.cells is None:
            return generated
        transfer = self.cells.transfer(sc[:, self.n_clusters :])
        return transfer + self.gate * relative_departure(generated, transfer)

    def forward(self, st: torch.Tensor, sc: torch.Tensor) -> SpaIMOutputs:
        st_in = st if self.cells is None else self.cells.project(st)
        st_content, st_style = self.st_content(st_in), self.st_style(st_in)
        sc_content, sc_style = self.sc_content(self.clusters(sc)), self._sc_style(sc)
        return SpaIMOutputs(
            st_content=st_content,
            st_style=st_style,
            sc_content=sc_content,
            sc_style=sc_style,
            reconstruction=self._decode(st_content, st_style),
            generation=self._generate(sc, sc_content, sc_style),
        )

    def generate(self, sc: torch.Tensor) -> torch.Tensor:
        """ST profiles (genes x cells) generated from genes' SC input (see the class docstring)."""
        return self._generate(sc, self.sc_content(self.clusters(sc)), self._sc_style(sc))
