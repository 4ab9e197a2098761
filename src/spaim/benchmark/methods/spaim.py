"""SpaIM itself, with the package defaults, and the paper's architecture as its own row."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.benchmark.methods.base import Method, Preprocessing
from spaim.crossval import make_folds, spaim_predictor
from spaim.pairing import PairedData, prepare_pair


class SpaIMMethod(Method):
    name = "spaim"
    preprocessing = Preprocessing(
        takes="raw counts (library-size normalised log1p inside; SC cluster means of normalised log1p)",
        returns="normalised log1p",
        to_log1p="as returned",
    )
    settings = (
        "package defaults: cell-basis architecture (ST cells mapped to up to 200 SC metacells nested in the clusters: "
        "softmax over correlations with the clusters or the metacells at a temperature, or the gene-wise learned "
        "mapping; the two ranked best by 5-fold cross-validation over the fit's training genes averaged, pooled half and "
        "half with the mean over the cell's 15 nearest cells in the ST principal components, then mixed with the cells' "
        "8-neighbour spatial mean at a share chosen on validation genes of the fit; 20 ST principal components; their spatial "
        "means), Leiden clusters, cluster means, LayerNorm, widths 512/256, the learned departure rescaled to the spread "
        "of each gene's transfer behind a gate starting at 0, generator compared with the measured genes by Pearson "
        "correlation, Adam lr 3e-3, up to 300 epochs, early stopping on 10% of the training genes (the untrained "
        "state, plain transfer, competes), each gene shifted so that its lowest cell reads 0 (offset='lowest')"
    )
    #: Set-up options of this row (the package defaults unless a subclass says otherwise).
    setup_options: dict = {"normalize": True}
    model_options: dict = {}

    def setup(self, inputs: BenchmarkInputs) -> None:
        # Clustering uses the SC cells only, so it is done once for all folds.
        self._data = prepare_pair(inputs.st, inputs.sc, allow_non_integer=inputs.allow_non_integer, seed=self.seed,
                                  **self.setup_options)
        self._predict = spaim_predictor(seed=self.seed, progress=False, **(self.model_options | self.options))

    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        return self._predict(self._data, training_positions(self._data, inputs, fold), inputs.test_genes(fold))


def training_positions(data: PairedData, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
    """Positions in ``data``'s shared genes of the fold's training genes.

    The model's panel leaves out shared genes without a single ST count (nothing to learn
    from): SpaIM trains on the fold's other training genes and predicts every held-out gene
    by name.
    """
    position = {g: i for i, g in enumerate(data.shared_sc)}
    return np.array([position[g] for g in (inputs.genes[i] for i in fold.train) if g in position])


def kept_untrained_transfer(model) -> bool:
    """Whether a trained cell-basis SpaIM kept its untrained state: the gate on its learned departure, started at 0, still is.

    The generator is then the plain transfer (early stopping found no better epoch); always
    False for ``architecture="paper"``, whose network starts from random weights.
    """
    return model.module.cells is not None and not model.module.gate.any()


def benchmark_fits(name: str, n_folds: int = 5, seed: int = 0) -> Iterator[tuple[PairedData, Fold, np.ndarray]]:
    """``(data, fold, training positions)`` of each fit the ``spaim`` row makes on bundled dataset ``name``.

    For hand-run studies of those fits (``benchmarks/early_stopping.py``; the nested ones through :func:`nested_fits`).
    """
    from spaim import datasets
    from spaim.benchmark.inputs import build_inputs

    st, sc = datasets.load(name, download=False)
    inputs = build_inputs(st, sc, allow_non_integer=True)
    data = prepare_pair(inputs.st, inputs.sc, allow_non_integer=True, seed=seed, **SpaIMMethod.setup_options)
    for fold in inputs.folds(n_folds, seed):
        yield data, fold, training_positions(data, inputs, fold)


def inner_folds(train: np.ndarray, n_inner: int, seed: int = 0) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(k, fit, validation)`` positions of each inner fold of a fit's training positions ``train``.

    The nested protocol of the hand-run studies (``benchmarks/tune_nested.py``,
    ``benchmarks/transfer_variants.py``): choices scored on these validation genes never see
    an outer test gene. The split uses ``seed + 1``, so it is not the outer folds' split.
    """
    for k, local in enumerate(make_folds(len(train), n_inner, seed + 1)):
        yield k, np.setdiff1d(train, train[local]), train[local]


def nested_fits(
    name: str, n_outer: int = 5, n_inner: int = 3, seed: int = 0
) -> Iterator[tuple[PairedData, int, int, np.ndarray, np.ndarray, list[str]]]:
    """``(data, outer fold, inner fold, fit positions, truth, genes)`` of every inner fit on dataset ``name``.

    :func:`benchmark_fits` split by :func:`inner_folds`: ``truth`` is the validation genes'
    measured values on the model's scale (size factors from the fit's genes, as the
    benchmark's normalised scoring), ``genes`` their SC names, for ``model.predict``.
    """
    for data, fold, train in benchmark_fits(name, n_outer, seed):
        for k, fit, val in inner_folds(train, n_inner, seed):
            yield data, fold.index, k, fit, data.st_log(val, data.st_size_factors(fit)), [data.shared_sc[i] for i in val]


class SpaIMPaperMethod(SpaIMMethod):
    name = "spaim_paper"
    preprocessing = Preprocessing(
        takes="raw counts (plain log1p inside, as the paper; SC cluster means of log1p)",
        returns="log1p of counts",
        to_log1p="as returned (count scale: the normalised scoring divides out each cell's depth)",
    )
    settings = (
        "architecture='paper' (encoder input and decoder output layers as wide as the ST cells, constant style input), "
        "plain log1p, generator compared with the reconstruction by cosine, as published; cluster means and LayerNorm "
        "(the package's earlier defaults), widths 512/256, Adam lr 1e-3, up to 300 epochs, early stopping on 10% of the "
        "training genes, values as generated (offset='none')"
    )
    output_scale = "counts"
    setup_options = {"normalize": False}
    model_options = {"architecture": "paper", "offset": "none", "generator_target": "reconstruction", "similarity": "cosine"}
