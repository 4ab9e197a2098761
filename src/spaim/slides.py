"""Several ST slides against one SC reference: the reference is prepared (clustered) once, one model per slide."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import anndata as ad
import pandas as pd
from tqdm.auto import tqdm

from spaim._threads import available_cpus
from spaim.crossval import MODEL_KEYS, make_folds, run_folds, spaim_predictor
from spaim.errors import SpaIMInputError
from spaim.genes import gene_names, match_genes
from spaim.model.imputer import SpaIM
from spaim.options import SetupOptions
from spaim.sdata import as_anndata
from spaim.tiles import INLINE, check_workers, dask_client


@dataclass
class SlidesResult:
    """What :func:`impute_slides` returns.

    Attributes
    ----------
    imputed
        Slide name -> :meth:`spaim.SpaIM.impute`'s AnnData for that slide.
    scores
        Per-gene panel cross-validation of every slide (``slide, gene, fold, pcc, ssim, rmse,
        js``), or ``None`` when ``folds=0``.
    models
        Slide name -> the trained model.
    """

    imputed: dict[str, ad.AnnData]
    scores: pd.DataFrame | None
    models: dict[str, SpaIM]


def impute_slides(
    slides: Mapping[str, ad.AnnData] | Sequence[ad.AnnData],
    sc: ad.AnnData,
    genes: Sequence[str] | None = None,
    folds: int = 0,
    seed: int | None = None,
    progress: bool = True,
    options: SetupOptions | None = None,
    scheduler: str | None = INLINE,
    workers: int = 2,
    **params,
) -> SlidesResult:
    """Impute several ST slides from one SC reference, clustering the reference once.

    Parameters
    ----------
    slides
        ST slides (AnnData or SpatialData), by name or in order (named ``slide0``, ...);
        none is modified. Panels may differ: every slide's panel genes stay in the reference.
    sc
        The SC reference (not modified).
    genes
        Genes to impute on every slide (default: each slide's unmeasured reference genes).
    folds
        Also cross-validate each slide's panel with this many folds (0: skip).
    seed
        Seeds the clustering, the models and the folds (``random_state`` is an alias).
    progress
        Show progress bars (slides and training).
    options
        Set-up options; or give them as keyword arguments (the fields of
        :class:`spaim.options.SetupOptions`: ``labels_key``, ``normalize``, ...).
    scheduler
        ``"inline"`` (default): one slide after another in this process; ``None``: the slides
        as tasks on a new local Dask cluster of ``workers`` processes; else the address of a
        running Dask scheduler. The prepared reference is sent to the workers once.
    workers
        Local Dask worker processes (with ``scheduler=None``); the CPUs are shared between them.
    **params
        Set-up options, the model's ``widths``/``norm``/``architecture``/``style_input``,
        and training options of :meth:`spaim.SpaIM.train`.

    Returns
    -------
    The imputed slides, their cross-validation scores and the models.
    """
    if scheduler is None:
        check_workers(workers)
    named = dict(slides) if isinstance(slides, Mapping) else {f"slide{i}": s for i, s in enumerate(slides)}
    if not named:
        raise SpaIMInputError("no ST slides given: pass one or more.")
    named = {name: as_anndata(st) for name, st in named.items()}
    setup = {k: params.pop(k) for k in (*SetupOptions.names(), "random_state") if k in params}
    if options is not None and (setup or seed is not None):
        raise SpaIMInputError("set-up options were given both as options= and as keywords: give them one way.")
    if options is None:
        options = SetupOptions.from_kwargs(({} if seed is None else {"seed": seed}) | setup, "impute_slides")
    model_params = {k: params.pop(k) for k in MODEL_KEYS if k in params}
    # Every slide's panel genes stay in the reference, so the one clustering serves all panels.
    keep = list(dict.fromkeys([*(genes or []), *(g for st in named.values() for g in _panel(st, sc, options))]))
    # Every slide is validated and paired before any training; the first pairing clusters the reference.
    models, reference = {}, None
    for name, st in named.items():
        models[name] = SpaIM(st, sc, genes=keep, options=options, _reference=reference, **model_params)
        reference = models[name].data.reference
        models[name].genes_to_impute(genes)  # nothing to impute, or a duplicate: refused before training
        if folds:
            make_folds(len(models[name].data.shared_st), folds, options.seed)  # too few genes fails before any training
    job = SlideJob(genes, folds, options.seed, model_params, params)
    if scheduler == INLINE:
        fitted = {}
        for name, model in tqdm(models.items(), desc="slides", disable=not progress):
            fitted[name] = fit_slide(model, None, job, progress)
    else:
        fitted = _fit_on_dask(models, reference, job, scheduler, workers, progress)
    tables = [scores.assign(slide=name) for name, (_, scores, _) in fitted.items() if scores is not None]
    scores = pd.concat(tables, ignore_index=True)[["slide", "gene", "fold", "pcc", "ssim", "rmse", "js"]] if tables else None
    return SlidesResult(
        imputed={name: imputed for name, (imputed, _, _) in fitted.items()}, scores=scores, models={name: m for name, (_, _, m) in fitted.items()}
    )


@dataclass
class SlideJob:
    """What is done to every slide: impute ``genes``, cross-validate with ``folds`` (0: skip)."""

    genes: Sequence[str] | None
    folds: int
    seed: int
    model_params: dict
    train_params: dict


def fit_slide(model: SpaIM, reference, job: SlideJob, progress: bool = False) -> tuple[ad.AnnData, pd.DataFrame | None, SpaIM]:
    """Cross-validate (if asked), train and impute one slide's model: in this process or as a Dask task.

    ``reference`` replaces the model's SC reference when the model travelled without it.
    """
    if reference is not None:
        model.data = replace(model.data, reference=reference)
    scores = None
    if job.folds:
        predictor = spaim_predictor(seed=job.seed, **job.model_params, **{**job.train_params, "progress": False})
        scores = run_folds(model.data, predictor, job.folds, job.seed, progress=False)
    imputed = model.train(progress=progress, **job.train_params).impute(job.genes)
    return imputed, scores, model


def _fit_on_dask(models: dict[str, SpaIM], reference, job: SlideJob, scheduler: str | None, workers: int, progress: bool) -> dict:
    from distributed import as_completed

    travelling = {}
    for name, model in models.items():  # the reference goes to the workers once, not with every slide
        light = copy.copy(model)
        light.data = replace(model.data, reference=None)
        if scheduler is None:  # local workers share this machine's CPUs
            light.threads = max(1, available_cpus() // workers)
        travelling[name] = light
    with dask_client(scheduler, workers) as client:
        shared = client.scatter(reference, broadcast=True)
        futures = {client.submit(fit_slide, model, shared, job, pure=False): name for name, model in travelling.items()}
        fitted = {}
        for future in tqdm(as_completed(futures), total=len(futures), desc="slides", disable=not progress):
            fitted[futures[future]] = future.result()  # re-raises a slide's error here
    for _, _, model in fitted.values():
        model.data = replace(model.data, reference=reference)  # one reference object again, as inline
    return {name: fitted[name] for name in models}


def _panel(st: ad.AnnData, sc: ad.AnnData, options: SetupOptions) -> list[str]:
    """SC names of the slide's panel genes; none when they do not match (the pairing then says why)."""
    try:
        st_genes, sc_genes = gene_names(st, "ST", options), gene_names(sc, "SC", options)
        return match_genes(st_genes, sc_genes, case_sensitive=not options.ignore_case).sc_names
    except SpaIMInputError:
        return []
