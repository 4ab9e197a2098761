"""The four SpaIM losses: content, style (Gram), ST reconstruction and ST generation."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from spaim.model.networks import SpaIMOutputs

GENERATOR_TARGETS = ("reconstruction", "measured", "both")
SIMILARITIES = ("cosine", "pearson")


@dataclass(frozen=True)
class LossWeights:
    """Weight of each loss term in the total (the paper sums them with weight 1)."""

    content: float = 1.0
    style: float = 1.0
    reconstruction: float = 1.0
    generation: float = 1.0


def cosine_loss(pred: torch.Tensor, target: torch.Tensor, similarity: str = "cosine") -> torch.Tensor:
    """Mean over genes of ``1 - cos(pred_g, target_g)``, cosine taken over cells.

    ``similarity="pearson"`` centres each gene over cells first (``1 - PCC``, ours): the
    plain cosine of log values is dominated by a gene's mean level, so its gradient says
    little about which cells express the gene.
    """
    if similarity == "pearson":
        pred, target = pred - pred.mean(dim=1, keepdim=True), target - target.mean(dim=1, keepdim=True)
    return (1.0 - F.cosine_similarity(pred, target, dim=1, eps=1e-8)).mean()


def content_loss(st: list[torch.Tensor], sc: list[torch.Tensor]) -> torch.Tensor:
    return sum(F.mse_loss(a, b) for a, b in zip(st, sc))


def gram(style: torch.Tensor) -> torch.Tensor:
    """Genes x genes Gram matrix, divided by the layer width as in neural style transfer.

    Without the division the style term grows with the width and swamps the cosine
    terms (ours: METHOD.md leaves the scale open).
    """
    return style @ style.T / style.shape[1]


def style_loss(st: list[torch.Tensor], sc: list[torch.Tensor]) -> torch.Tensor:
    """MSE between the Gram matrices of the two networks' styles, summed over layers."""
    return sum(F.mse_loss(gram(a), gram(b)) for a, b in zip(st, sc))


def generation_loss(outputs: SpaIMOutputs, st: torch.Tensor, target: str, similarity: str = "cosine") -> torch.Tensor:
    if target == "reconstruction":
        return cosine_loss(outputs.generation, outputs.reconstruction, similarity)
    if target == "measured":
        return cosine_loss(outputs.generation, st, similarity)
    return 0.5 * (cosine_loss(outputs.generation, outputs.reconstruction, similarity) + cosine_loss(outputs.generation, st, similarity))


def spaim_loss(
    outputs: SpaIMOutputs, st: torch.Tensor, weights: LossWeights, generator_target: str = "measured",
    similarity: str = "cosine",
) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted total loss and each term's value (for the history)."""
    terms = {
        "content": content_loss(outputs.st_content, outputs.sc_content),
        "style": style_loss(outputs.st_style, outputs.sc_style),
        "reconstruction": cosine_loss(outputs.reconstruction, st, similarity),
        "generation": generation_loss(outputs, st, generator_target, similarity),
    }
    total = sum(getattr(weights, name) * value for name, value in terms.items())
    return total, {name: float(value.detach()) for name, value in terms.items()}
