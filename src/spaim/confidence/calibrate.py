"""What cross-validation over the panel genes teaches SpaIM about its own accuracy.

Every panel gene is held out once and predicted by fold models that never saw it; its
held-out PCC, errors and features then train (a) a regression from features to PCC, the
per-gene *confidence*, and (b) conformal intervals. Confidence reported for a panel gene
is nested: the regression that scores it was fitted without it and without the other
genes of its fold.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import QuantileTransformer

from spaim.confidence.features import FEATURES, gene_features
from spaim.confidence.intervals import ConformalIntervals
from spaim.crossval import MODEL_KEYS, Predictor, fold_arrays, make_folds, run_folds, spaim_predictor
from spaim.errors import SpaIMInputError
from spaim.pairing import PairedData
from spaim.preprocessing import Matrix

#: Ridge penalties tried by leave-one-out inside the training rows of each fit.
ALPHAS = np.logspace(-1, 3, 9)
#: Inner folds of the forward feature selection, and the least Spearman gain that adds a feature.
INNER_FOLDS, MIN_GAIN = 5, 0.01


@dataclass
class HeldOut:
    """Held-out predictions of every panel gene by fold models that never saw it.

    Attributes
    ----------
    genes
        Panel genes (SC names), in column order.
    folds
        Column indices held out together, one array per fold.
    measured
        ST cells x panel genes, log scale, each fold normalised with its training genes.
    predictions
        One cells x panel genes array per ensemble member (models differing in seed).
    pcc
        Held-out PCC of each panel gene (first ensemble member).
    """

    genes: list[str]
    folds: list[np.ndarray]
    measured: np.ndarray
    predictions: list[np.ndarray]
    pcc: np.ndarray

    @property
    def fold_of(self) -> np.ndarray:
        out = np.empty(len(self.genes), dtype=int)
        for k, test in enumerate(self.folds):
            out[test] = k
        return out


def cross_predict(
    data: PairedData,
    folds: int = 5,
    seed: int = 0,
    ensemble: int = 2,
    progress: bool = True,
    predictor: Callable[[int], Predictor] | None = None,
    **params,
) -> tuple[HeldOut, pd.DataFrame]:
    """K-fold predictions of the panel genes by ``ensemble`` models per fold (seeds ``seed, seed+1, ...``).

    ``predictor`` maps a seed to a fold predictor (default SpaIM via
    :func:`spaim.crossval.spaim_predictor`, whose model and training options are ``params``;
    training itself runs without a progress bar).
    Returns the :class:`HeldOut` predictions and the first member's per-gene score table.
    """
    if ensemble < 1:
        raise SpaIMInputError(f"ensemble={ensemble} must be at least 1: use 2 to measure seed agreement.")
    splits = make_folds(len(data.shared_st), folds, seed)
    predictions, table = [], None
    for m in range(ensemble):
        member = predictor(seed + m) if predictor else spaim_predictor(seed=seed + m, **params | {"progress": False})
        scores, predicted = run_folds(data, member, folds, seed, progress, True)
        table = scores if table is None else table
        predictions.append(predicted)
    measured = np.zeros_like(predictions[0])
    for test in splits:
        measured[:, test] = fold_arrays(data, test)[1]
    order = pd.Index(table["gene"]).get_indexer(data.shared_st)
    pcc = table["pcc"].to_numpy()[order]
    return HeldOut(list(data.shared_sc), splits, measured, predictions, pcc), table


def cluster_weights(data: PairedData) -> np.ndarray:
    """Share of SC cells in each reference cluster."""
    return np.bincount(data.reference.labels, minlength=data.reference.n_clusters).astype(np.float64)


class ConfidenceRegressor:
    """Ridge regression on ranks from gene features to held-out PCC, on features chosen by forward selection.

    Features are quantile-normalised and the target is each gene's rank of held-out PCC,
    so that a few extreme genes or a skewed feature (expression levels, PCCs piled up near
    0 on sparse platforms) do not set the fit; what users need from the confidence is the
    ordering of the genes. The predicted rank is mapped back to the PCC scale through the
    training genes' PCC quantiles, so the confidence still reads as an expected PCC.

    Which features enter is chosen greedily on the training genes alone: each step adds the
    feature that most raises the Spearman correlation of an inner 5-fold cross-validated
    prediction, until none adds 0.01 (``forward=False`` uses every feature). Features that
    carry no signal on a platform then cannot add noise to its ranking; the choice was made
    on pseudo-spatial pairs (``benchmarks/confidence_nested.py``).

    Parameters
    ----------
    features
        Candidate columns (those with a NaN are skipped).
    forward
        Choose among them by forward selection.
    """

    def __init__(self, features: Sequence[str] = FEATURES, forward: bool = True) -> None:
        self.features = tuple(features)
        self.forward = forward

    def fit(self, features: pd.DataFrame, pcc: np.ndarray) -> ConfidenceRegressor:
        usable = [c for c in self.features if c in features and features[c].notna().all()]
        pcc = np.asarray(pcc, np.float64)
        self.columns_ = self._forward_selection(features, pcc, usable) if self.forward else usable
        quantiles = QuantileTransformer(n_quantiles=min(100, len(pcc)), output_distribution="normal")
        self.model_ = make_pipeline(quantiles, RidgeCV(alphas=ALPHAS)).fit(features[self.columns_], (rankdata(pcc) - 0.5) / len(pcc))
        self.sorted_pcc_ = np.sort(pcc)
        return self

    @staticmethod
    def _forward_selection(features: pd.DataFrame, pcc: np.ndarray, usable: list[str]) -> list[str]:
        inner = np.random.default_rng(0).permutation(len(pcc)) % INNER_FOLDS
        chosen, best = [], -np.inf
        while len(chosen) < len(usable):
            scores = {}
            for candidate in (c for c in usable if c not in chosen):
                predicted = np.zeros(len(pcc))
                for f in range(INNER_FOLDS):
                    train, test = inner != f, inner == f
                    model = ConfidenceRegressor([*chosen, candidate], forward=False).fit(features[train], pcc[train])
                    predicted[test] = model.predict(features[test])
                scores[candidate] = spearmanr(predicted, pcc)[0] if np.ptp(predicted) > 0 else -np.inf
            candidate = max(scores, key=scores.get)
            if not scores[candidate] >= best + MIN_GAIN:
                break
            chosen, best = [*chosen, candidate], scores[candidate]
        return chosen or usable[:1]

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        share = self.model_.predict(features[self.columns_])
        n = len(self.sorted_pcc_)
        return np.interp(share, (np.arange(n) + 0.5) / n, self.sorted_pcc_)


def _panel_features(data: PairedData, held: HeldOut, rows: np.ndarray, panel: np.ndarray) -> pd.DataFrame:
    """Features of panel genes ``rows`` with the known accuracies of panel genes ``panel`` (never a gene itself)."""
    profiles = data.reference.profiles_of(held.genes)
    metacells = data.reference.metacell_profiles_of(held.genes)
    exclude = np.asarray(rows)[:, None] == np.asarray(panel)[None, :]
    return gene_features(profiles[rows], cluster_weights(data), profiles[panel], held.pcc[panel],
                         [p[:, rows] for p in held.predictions], exclude=exclude,
                         metacells=metacells[rows], panel_metacells=metacells[panel])


def nested_confidence(data: PairedData, held: HeldOut, regressor: Callable[[], ConfidenceRegressor] = ConfidenceRegressor) -> pd.DataFrame:
    """Features and confidence of each panel gene, predicted without its measurement.

    For each fold, the regression (a new ``regressor()``) is fitted on the other folds'
    genes (their features use only those genes' accuracies) and scores the fold's genes.

    Returns
    -------
    One row per panel gene (ST names as index): ``fold``, ``pcc``, the features, ``confidence``.
    """
    all_genes = np.arange(len(held.genes))
    parts = []
    for k, test in enumerate(held.folds):
        rest = np.setdiff1d(all_genes, test)
        fitted = regressor().fit(_panel_features(data, held, rest, rest), held.pcc[rest])
        scored = _panel_features(data, held, test, rest)
        scored.insert(0, "confidence", fitted.predict(scored))
        scored.index = test
        parts.append(scored)
    table = pd.concat(parts).sort_index()
    table.insert(0, "pcc", held.pcc)
    table.insert(0, "fold", held.fold_of)
    table.index = pd.Index(data.shared_st, name="gene")
    return table


#: Library-size groups of ST cells that the intervals are calibrated within: chosen on genes nested
#: inside the confidence benchmark's folds (benchmarks/interval_depth_groups_nested.py).
N_DEPTH_GROUPS = 4


def depth_groups(counts: Matrix, n_groups: int = N_DEPTH_GROUPS) -> np.ndarray:
    """Group ST cells by library size (quantiles of their total counts over the panel).

    A cell's depth shapes its errors on the normalised log scale: a shallow cell's values are
    mostly 0 and, where not, large (one count over a small size factor); a deep cell's lie
    close to their expectation. Known for every cell without any held-out gene.
    """
    totals = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
    edges = np.unique(np.quantile(totals, np.linspace(0, 1, n_groups + 1)[1:-1]))
    return np.digitize(totals, edges)


@dataclass
class Calibration:
    """A trained model's per-gene confidence and interval calibration.

    Attributes
    ----------
    panel
        Per panel gene: fold, held-out PCC, features and nested confidence.
    regressor
        Confidence regression fitted on every panel gene.
    intervals
        Conformal intervals, or None when turned off.
    companions
        Models trained on every panel gene with other seeds (for ``seed_agreement``).
    """

    panel: pd.DataFrame
    regressor: ConfidenceRegressor
    intervals: ConformalIntervals | None
    companions: list = field(default_factory=list)

    @classmethod
    def fit(cls, data: PairedData, held: HeldOut, coverage: float | None = 0.9) -> Calibration:
        """Nested panel confidence, the regression on every panel gene and (unless ``coverage=None``) the intervals."""
        panel = nested_confidence(data, held)
        genes = np.arange(len(held.genes))
        regressor = ConfidenceRegressor().fit(_panel_features(data, held, genes, genes), held.pcc)
        intervals = None
        if coverage is not None:
            groups = depth_groups(data.st_counts)
            intervals = ConformalIntervals.fit(held.measured, held.predictions[0], groups, coverage)
        return cls(panel, regressor, intervals)

    def describe(self, data: PairedData, genes: Sequence[str], values: np.ndarray) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray] | None]:
        """Confidence and features of ``genes``, and (if calibrated) their interval bounds.

        ``values`` holds the main model's predictions (ST cells x ``genes``) of ``data``. Every
        output is per gene, so genes can be described a chunk at a time. Returns one row per
        gene (``confidence``, then the features) and ``(lower, upper)`` in ``values``' dtype,
        or None without intervals.
        """
        genes = list(genes)
        panel_sc = pd.Index(data.shared_sc)
        measured = panel_sc.get_indexer(genes)
        panel = np.arange(len(panel_sc))
        predictions = [values, *(c.predict(genes) for c in self.companions)]
        reference = data.reference
        features = gene_features(reference.profiles_of(genes), cluster_weights(data), reference.profiles_of(data.shared_sc),
                                 self.panel["pcc"].to_numpy(), predictions, exclude=measured[:, None] == panel[None, :],
                                 metacells=reference.metacell_profiles_of(genes),
                                 panel_metacells=reference.metacell_profiles_of(data.shared_sc))
        features.insert(0, "confidence", self.regressor.predict(features))
        # A measured gene keeps the confidence predicted for it while it was held out.
        is_panel = measured >= 0
        features.loc[is_panel, :] = self.panel.iloc[measured[is_panel]][features.columns].to_numpy()
        if self.intervals is None:
            return features, None
        # The bounds take the values' dtype: float16 output asks for half the memory, the layers included.
        lower, upper = self.intervals.bounds(values)
        return features, (lower.astype(values.dtype, copy=False), upper.astype(values.dtype, copy=False))

    def annotate(self, data: PairedData, adata: ad.AnnData) -> ad.AnnData:
        """Add ``var["confidence"]``, the features and (if calibrated) ``layers["lower"/"upper"]`` in place.

        ``adata`` holds the main model's predictions (ST cells x genes, ``X``) of ``data``.
        """
        features, bounds = self.describe(data, adata.var_names, np.asarray(adata.X))
        for column in features:
            adata.var[column] = features[column].to_numpy()
        if bounds is not None:
            adata.layers["lower"], adata.layers["upper"] = bounds
            adata.uns.setdefault("spaim", {})["interval_coverage"] = self.intervals.coverage
        return adata


def training_options(model) -> dict:
    """The keyword arguments of :meth:`spaim.SpaIM.train` that trained ``model``."""
    from spaim.model.imputer import SpaIM

    accepted = inspect.signature(SpaIM.train).parameters
    stored = {(f"{k}_weight" if f"{k}_weight" in accepted else k): v for k, v in model.train_params.items()}
    return {k: v for k, v in stored.items() if k in accepted} | {"device": str(model.device)}


def calibrate(model, folds: int = 5, ensemble: int = 2, coverage: float | None = 0.9, progress: bool = True) -> Calibration:
    """Cross-validate a trained :class:`spaim.SpaIM` over its panel genes and learn its confidence.

    Parameters
    ----------
    model
        A trained model; its fold models reuse its SC clustering, architecture and training options.
    folds
        Folds over the panel genes (each gene held out once).
    ensemble
        Models per fold differing only in seed; 2 or more adds ``seed_agreement``.
    coverage
        Coverage of the per-cell intervals; None turns intervals off.
    progress
        Show progress bars.
    """
    from spaim.model.imputer import SpaIM

    model._check_trained()
    if coverage is not None and not 0 < coverage < 1:
        raise SpaIMInputError(f"coverage={coverage} must be strictly between 0 and 1 (or None for no intervals): e.g. 0.9.")
    options = training_options(model)
    architecture = {k: v for k, v in model.module_params.items() if k in MODEL_KEYS}
    params = architecture | options
    held, _ = cross_predict(model.data, folds, model.seed, ensemble, progress, **params)
    calibration = Calibration.fit(model.data, held, coverage)
    calibration.companions = [
        SpaIM.from_paired_data(model.data, seed=model.seed + m, **architecture).train(**options | {"progress": False})
        for m in range(1, ensemble)
    ]
    return calibration
