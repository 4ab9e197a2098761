"""Cross-validation over shared genes: every gene predicted once by a model that never saw it."""

from __future__ import annotations

from collections.abc import Callable

import anndata as ad
import numpy as np
import pandas as pd
from sklearn.model_selection import KFold
from tqdm.auto import tqdm

from spaim._threads import resolve_threads, thread_limits
from spaim.errors import SpaIMInputError
from spaim.metrics import score_genes
from spaim.model.imputer import SpaIM, check_module_options
from spaim.options import SetupOptions, check_int, check_known
from spaim.pairing import PairedData, prepare_pair
from spaim.training import TrainingPlan, plan_keys, resolve_device

#: Network options of :class:`spaim.SpaIM` accepted by :func:`spaim_predictor`.
MODEL_KEYS = ("widths", "norm", "architecture", "style_input", "offset")
#: Training keywords besides the :class:`spaim.training.TrainingPlan` fields.
RUN_KEYS = ("device", "progress")


def make_folds(n_genes: int, folds: int, seed: int = 0) -> list[np.ndarray]:
    """Held-out gene indices of each fold (shuffled K-fold)."""
    check_int("folds", folds, low=2)
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


def spaim_predictor(seed: int = 0, threads: int | None = None, **params) -> Predictor:
    """A fold predictor that trains SpaIM on the training genes and predicts the held-out ones.

    ``params`` are ``widths``/``norm`` and :meth:`spaim.SpaIM.train`'s keywords, all
    checked here, before any fold runs; ``threads`` as for :class:`spaim.SpaIM`.
    """
    check_known(params, (*MODEL_KEYS, *RUN_KEYS, *plan_keys()), "spaim_predictor")
    model_params = {k: params.pop(k) for k in MODEL_KEYS if k in params}
    check_module_options(**{"widths": (512, 256), "norm": "layer"} | model_params)  # the others default
    TrainingPlan.from_kwargs({k: v for k, v in params.items() if k not in RUN_KEYS})
    resolve_device(params.get("device", "auto"))
    resolve_threads(threads)

    def predict(data: PairedData, train: np.ndarray, test) -> np.ndarray:
        # ``test``: indices into the shared genes, or SC gene names (any gene of the reference).
        genes = [data.shared_sc[i] for i in test] if np.asarray(test).dtype.kind in "iu" else list(test)
        model = SpaIM.from_paired_data(data.subset(train), seed=seed, threads=threads, **model_params)
        model.train(**params)
        return model.predict(genes)

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
    seed: int | None = None,
    progress: bool = True,
    return_predictions: bool = False,
    confidence: bool = False,
    ensemble: int = 1,
    threads: int | None = None,
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
        Seeds the fold split, the clustering and the models (default 0; alias ``random_state``).
    progress
        Show progress bars.
    return_predictions
        Also return an AnnData (ST cells x shared genes) of held-out predictions.
    confidence
        Add a ``confidence`` column: each gene's estimated PCC, predicted without its
        measurement by a regression fitted on the other folds' genes
        (:func:`spaim.confidence.nested_confidence`).
    ensemble
        With ``confidence``, models per fold differing in seed (2 adds seed agreement
        as a feature and doubles the training time).
    threads
        CPU threads for torch, BLAS and numba (as for :class:`spaim.SpaIM`).
    **params
        Set-up options of :class:`spaim.SpaIM` (fields of :class:`spaim.options.SetupOptions`;
        ``random_state`` is an alias of ``seed``), ``widths``/``norm``, and training
        options of :meth:`spaim.SpaIM.train`. All are checked before the reference is clustered.

    Returns
    -------
    One row per shared gene: ``gene, fold, pcc, ssim, rmse, js`` on the log1p scale
    (and ``confidence``).
    """
    check_known(params, (*SetupOptions.names(), "random_state", *MODEL_KEYS, *RUN_KEYS, *plan_keys()), "cross_validate")
    setup = {k: params.pop(k) for k in (*SetupOptions.names(), "random_state") if k in params}
    options = SetupOptions.from_kwargs(({} if seed is None else {"seed": seed}) | setup, "cross_validate")
    check_int("folds", folds, low=2)
    params.setdefault("progress", False)
    predictor = spaim_predictor(seed=options.seed, threads=threads, **params)  # checks the other options before clustering
    with thread_limits(threads):
        data = prepare_pair(st, sc, options)
    make_folds(len(data.shared_st), folds, options.seed)  # fail on too few genes before any training
    if confidence:
        from spaim.confidence import cross_predict, nested_confidence

        training = {k: v for k, v in params.items() if k != "progress"}
        held, table = cross_predict(data, folds, options.seed, ensemble, progress, **training)
        table["confidence"] = nested_confidence(data, held)["confidence"].reindex(table["gene"]).to_numpy()
        predictions = held.predictions[0]
    else:
        table, predictions = run_folds(data, predictor, folds, options.seed, progress, True)
    if not return_predictions:
        return table
    out = ad.AnnData(X=predictions, obs=data.st_obs.copy(), var=pd.DataFrame(index=pd.Index(data.shared_st, dtype=str)))
    out.uns["log1p"] = {"base": None}
    if data.st_spatial is not None:
        out.obsm["spatial"] = data.st_spatial.copy()
    return table, out

