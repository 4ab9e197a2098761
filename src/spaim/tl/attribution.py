"""Content vs style attributions of the generator (the paper's interpretability analysis).

For one ReST layer ``k``, the generator fuses the gene's content ``h(k)`` (from its SC
cluster profile) with the ST style ``g(k)`` (from the constant style input) before that
layer's decoder. GradientSHAP (captum) attributes the gene's predicted mean expression
over the ST cells to ``h(k)`` and to ``g(k)``; summing over the latent units gives one
content and one style score per gene and layer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from captum.attr import LayerGradientShap
from torch import nn

from spaim.errors import SpaIMInputError
from spaim.model.imputer import check_imputable
from spaim.model.networks import profile_style

CATEGORIES = ("content", "style", "other")


class _FusionTaps(nn.Module):
    """The generator with identity taps on layer ``k``'s content and style where they enter the decoder.

    Taps only on the decoder's inputs (not inside the encoders): the attribution is that of
    ReST layer ``k``'s own fusion, the term ``D(k)(h(k) * g(k))`` of the cascade. The style
    input is an explicit argument so that it can be moved to its baseline; with the
    ``"cellbasis"`` architecture the cluster-transfer path adds to the output without
    passing through either tap, so it gets no attribution.
    """

    def __init__(self, module: nn.Module, layer: int) -> None:
        super().__init__()
        self.module, self.layer = module, layer
        self.content, self.style = nn.Identity(), nn.Identity()

    def forward(self, profiles: torch.Tensor, style_input: torch.Tensor) -> torch.Tensor:
        contents = list(self.module.sc_content(self.module.clusters(profiles)))
        styles = list(self.module.sc_style(style_input))
        contents[self.layer] = self.content(contents[self.layer])
        styles[self.layer] = self.style(styles[self.layer])
        return self.module._generate(profiles, contents, styles).mean(dim=1)


def style_input(module: nn.Module, profiles: torch.Tensor) -> torch.Tensor:
    """The generator's style input for these genes: a constant 1, or the profile summaries."""
    if getattr(module, "style_input", "constant") == "constant":
        return torch.ones(len(profiles), 1, dtype=profiles.dtype, device=profiles.device)
    return profile_style(module.clusters(profiles))


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed the global numpy and torch generators (captum draws from both), then restore them."""
    state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        np.random.seed(seed)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)


def classify(content: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Label genes ``"content"``, ``"style"`` or ``"other"`` by the interquartile rule.

    A gene is content-related when the magnitude of its content score is above the third
    quartile of all genes' content magnitudes while its style magnitude is not above the
    third quartile of the style magnitudes; style-related in the converse case; every other
    gene (high on both, or on neither) is ``"other"``. This is our reading of the paper's
    rule (Supplementary Note 4 ranks genes by attribution against the upper quartile).
    """
    c, s = np.abs(np.asarray(content, float)), np.abs(np.asarray(style, float))
    high_c, high_s = c > np.quantile(c, 0.75), s > np.quantile(s, 0.75)
    return np.select([high_c & ~high_s, high_s & ~high_c], ["content", "style"], "other")


def attribute(
    model,
    genes: Sequence[str] | None = None,
    layers: Sequence[int] | None = None,
    n_samples: int = 20,
    batch_size: int = 256,
    seed: int = 0,
) -> pd.DataFrame:
    """GradientSHAP attributions of each gene's generated expression to content and style.

    Parameters
    ----------
    model
        A trained :class:`spaim.SpaIM`.
    genes
        SC genes to explain (default: every gene of the SC reference, measured or not).
    layers
        ReST layers, 1-based (default all: the intermediate ones and the last one).
    n_samples
        GradientSHAP samples per gene (random points between the baseline and the input).
    batch_size
        Genes per batch.
    seed
        Seeds GradientSHAP's sampling, so the same call gives the same table.

    Returns
    -------
    One row per gene and layer: ``gene``, ``layer`` (1 = first ReST layer), ``content`` and
    ``style`` (signed sums over the layer's latent units, in units of the gene's mean
    predicted expression; the baseline is an all-zero SC profile and a zero style input),
    ``category`` (:func:`classify`, within each layer).
    """
    model._check_trained()
    reference = model.data.reference
    genes = list(reference.genes) if genes is None else list(genes)
    check_imputable(genes, model.data.reference.genes)
    n_layers = len(model.module_params["widths"])
    layers = list(range(1, n_layers + 1)) if layers is None else [int(k) for k in layers]
    if not layers or any(not 1 <= k <= n_layers for k in layers):
        raise SpaIMInputError(f"layers must be between 1 and {n_layers} (the model's ReST layers): e.g. layers=[1, {n_layers}].")
    if n_samples < 1 or batch_size < 1:
        raise SpaIMInputError("n_samples and batch_size must be at least 1: e.g. n_samples=20.")
    module, device = model.module.eval(), model.device
    profiles = torch.from_numpy(model.sc_inputs(genes))
    tables = []
    for k in layers:
        taps = _FusionTaps(module, k - 1)
        scores = {"content": [], "style": []}
        with _seeded(seed):
            for chunk in profiles.split(batch_size):
                x = chunk.to(device)
                inputs = (x, style_input(module, x))
                baselines = tuple(torch.zeros(1, t.shape[1], device=device) for t in inputs)
                for path in ("content", "style"):
                    shap = LayerGradientShap(taps, getattr(taps, path))
                    attr = shap.attribute(inputs, baselines=baselines, n_samples=n_samples)
                    scores[path].append(attr.sum(dim=1).detach().cpu().numpy())
        content, style = np.concatenate(scores["content"]), np.concatenate(scores["style"])
        tables.append(pd.DataFrame({"gene": genes, "layer": k, "content": content, "style": style,
                                    "category": classify(content, style)}))
    return pd.concat(tables, ignore_index=True)
