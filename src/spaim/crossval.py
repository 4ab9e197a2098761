"""Cross-validation over shared genes: every gene predicted once by a model that never saw it."""

from __future__ import annotations

from collections.abc import Callable

import anndata as ad
import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from tqdm.auto import tqdm

from spaim._threads import thread_limits
from spaim.errors import SpaIMInputError
from spaim.metrics import score_genes
from spaim.model.imputer import SpaIM
from spaim.pairing import PairedData, prepare_pair

#: Keyword arguments of :func:`spaim.pairing.prepare_pair` accepted by :func:`cross_validate`.
SETUP_KEYS = (
    "st_layer", "sc_layer", "ignore_case", "allow_non_integer", "normalize", "min_cell_fraction",
    "labels_key", "resolution", "n_clusters", "profile_stat",
)
MODEL_KEYS = ("widths", "norm", "architecture", "style_input", "threads")


def make_folds(n_genes: int, folds: int, seed: int = 0) -> list[np.ndarray]:
    """Held-out gene indices of each fold (shuffled K-fold)."""
    if folds < 2:
        raise SpaIMInputError(f"folds={folds} must be at least 2: use e.g. 10.")
    if n_genes < folds:
        raise SpaIMInputError(f"only {n_genes} shared genes for {folds} folds: use at most {n_genes} folds.")
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    return [np.sort(test) for _, test in splitter.split(np.arange(n_genes))]


def fold_arrays(data: PairedData, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training gene indices and the held-out genes' measured values (log scale, training-gene size factors)."""
    train = np.setdiff1d(np.arange(len(data.shared_st)), test)
    measured = data.st_log(test, data.st_size_factors(train))
    return train, measured


Predictor = Callable[[PairedData, np.ndarray, np.ndarray], np.ndarray]


def spaim_predictor(seed: int = 0, **params) -> Predictor:
    """A fold predictor that trains SpaIM on the training genes and predicts the held-out ones."""
    model_params = {k: params.pop(k) for k in MODEL_KEYS if k in params}

    def predict(data: PairedData, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        model = SpaIM.from_paired_data(data.subset(train), seed=seed, **model_params)
        model.train(**params)
        return model.predict([data.shared_sc[i] for i in test])

    return predict


def run_folds(
    data: PairedData, predictor: Predictor, folds: int, seed: int, progress: bool = True, return_predictions: bool = False
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """Score ``predictor`` on every fold; optionally also return the held-out predictions (cells x genes)."""
    tables = []
    predictions = np.zeros(data.st_counts.shape, dtype=np.float32)
    for k, test in enumerate(tqdm(make_folds(len(data.shared_st), folds, seed), desc="folds", disable=not progress)):
        train, measured = fold_arrays(data, test)
        predicted = predictor(data, train, test)
        predictions[:, test] = predicted
        table = score_genes(measured, predicted, [data.shared_st[i] for i in test])
        table.insert(1, "fold", k)
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    return (table, predictions) if return_predictions else table


def cross_validate(
    st: ad.AnnData,
    sc: ad.AnnData,
    folds: int = 10,
    seed: int = 0,
    progress: bool = True,
    return_predictions: bool = False,
    **params,
) -> pd.DataFrame | tuple[pd.DataFrame, ad.AnnData]:
    """K-fold cross-validation of SpaIM over the genes shared by ST and SC.

    Parameters
    ----------
    st, sc
        As for :class:`spaim.SpaIM` (not modified).
    folds
        Number of folds; each shared gene is held out exactly once.
    seed
        Seeds the fold split, the clustering and the models.
    progress
        Show progress bars.
    return_predictions
        Also return an AnnData (ST cells x shared genes) of held-out predictions.
    **params
        Set-up options of :class:`spaim.SpaIM` (``normalize``, ``labels_key``, ...),
        ``widths``/``norm``/``threads``, and training options of :meth:`spaim.SpaIM.train`.

    Returns
    -------
    One row per shared gene: ``gene, fold, pcc, ssim, rmse, js`` on the log1p scale.
    """
    setup = {k: params.pop(k) for k in SETUP_KEYS if k in params}
    with thread_limits(params.get("threads")):
        data = prepare_pair(st, sc, seed=seed, **setup)
    make_folds(len(data.shared_st), folds, seed)  # fail on too few genes before any training
    params.setdefault("progress", False)
    result = run_folds(data, spaim_predictor(seed=seed, **params), folds, seed, progress, return_predictions)
    if not return_predictions:
        return result
    table, predictions = result
    out = ad.AnnData(X=predictions, obs=data.st_obs.copy(), var=pd.DataFrame(index=pd.Index(data.shared_st, dtype=str)))
    if data.st_spatial is not None:
        out.obsm["spatial"] = data.st_spatial.copy()
    return table, out

