"""The user-facing SpaIM model: set up on an ST/SC pair, train, impute, save and load."""

from __future__ import annotations

import contextlib
import json
import numbers
import os
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Literal

import anndata as ad
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from spaim._threads import resolve_threads, thread_limits
from spaim.errors import SpaIMInputError
from spaim.io import atomic_folder, check_can_write
from spaim.model.networks import ARCHITECTURES, STYLE_INPUTS, SpaIMModule
from spaim.model.rest import NORMS
from spaim.options import SetupOptions, check_number, option_error
from spaim.pairing import PairedData, prepare_pair
from spaim.preprocessing import SCReference
from spaim.training import ARCHITECTURE_LR, TrainingPlan, plan_keys, resolve_device, train_module
from spaim.writer import open_h5ad_writer, resolve_chunk_size, resolve_dtype

_SAVE_FILES = ("settings.json", "module.pt", "reference.npz", "history.csv")
Norm = Literal[tuple(NORMS)]
Architecture = Literal[ARCHITECTURES]
StyleInput = Literal[STYLE_INPUTS]
#: Where each imputed gene's values start (:meth:`SpaIM.predict`).
OFFSETS = ("lowest", "none")
Offset = Literal[OFFSETS]


class SpaIM:
    """Impute unmeasured genes in spatial transcriptomics from an scRNA-seq reference.

    Parameters
    ----------
    st
        Spatial data, cells (or spots) x genes, raw counts in ``X`` or ``st_layer``.
        Coordinates are read from ``obsm["spatial"]`` (or ``obs`` x/y columns).
    sc
        Single-cell reference, cells x genes, raw counts in ``X`` or ``sc_layer``.
    genes
        Genes to keep available for imputation even if they fail the SC expression filter.
    widths
        Latent width of each ReST layer (the number of layers is ``len(widths)``).
    norm
        ``"layer"`` (default) or ``"batch"`` normalisation inside the encoders.
    style_input
        The generator's style input: ``"constant"`` (paper) or ``"profile"`` (the gene's SC
        profile summaries, :func:`spaim.model.networks.profile_style`).
    architecture
        ``"cellbasis"`` (default): the cell-wide layers are expressed through fixed ST-cell
        features (soft assignment to the SC clusters, ST principal components, and their
        spatial neighbourhood means; :func:`spaim.cell_basis.build_cell_basis`) and the
        generator adds the cluster-transfer path. ``"paper"``: layers as wide as the
        number of ST cells, as published.
    offset
        ``"lowest"`` (default): each imputed gene is shifted so that its lowest ST cell
        reads 0, as cells that do not express a gene read 0 when measured; a mixture of SC
        profiles otherwise lifts every cell of a gene by the share it borrows from the
        cell types that express it. The shift changes no gene's correlation with anything;
        it is taken over the cells the model imputes (tiled imputation,
        :func:`spaim.tiles.impute_slide`, shifts the joined slide instead of each tile).
        ``"none"``: the generator's values as they come (clipped at 0), as the paper.
    threads
        CPU threads for torch, BLAS and numba while this model computes (default: the
        CPUs this process may use, capped by ``OMP_NUM_THREADS`` when set). On a shared
        or busy machine, fewer threads than cores avoid spinning.
    options
        Set-up options as one :class:`spaim.options.SetupOptions`; or give them as
        keyword arguments (below), checked together before any work starts.
    **setup
        The fields of :class:`spaim.options.SetupOptions`: ``st_layer``/``sc_layer``
        (layers holding raw counts), ``ignore_case``, ``strip_gene_names``,
        ``allow_non_integer``, ``normalize``, ``min_cell_fraction``, ``labels_key``,
        ``resolution``, ``n_clusters``, ``profile_stat`` and ``seed`` (alias
        ``random_state``). Unknown names are refused.

    Notes
    -----
    The defaults ``profile_stat="mean"`` and ``norm="layer"`` were chosen on validation
    genes inside training folds (``benchmarks/tune_defaults.py``): both raised the median
    held-out PCC on every dataset tried. Neither ``st`` nor ``sc`` is modified. All values the model sees and returns are on
    the natural-log ``log1p`` scale.
    """

    def __init__(
        self,
        st: ad.AnnData,
        sc: ad.AnnData,
        *,
        genes: Sequence[str] | None = None,
        widths: Sequence[int] = (512, 256),
        norm: Norm = "layer",
        architecture: Architecture = "cellbasis",
        style_input: StyleInput = "constant",
        offset: Offset = "lowest",
        threads: int | None = None,
        options: SetupOptions | None = None,
        _reference: SCReference | None = None,
        **setup,
    ) -> None:
        misplaced = [k for k in setup if k in plan_keys()]
        if misplaced:
            raise SpaIMInputError(f"'{misplaced[0]}' is a training option: pass it to model.train(), not to SpaIM().", option=misplaced[0])
        options = SetupOptions.from_kwargs(setup, "SpaIM") if options is None else options
        check_module_options(widths, norm, architecture, style_input, offset)
        self.threads = resolve_threads(threads)
        with thread_limits(self.threads):
            data = prepare_pair(st, sc, options, genes=genes, reference=_reference)
            self._init_from_data(data, widths, norm, architecture, style_input, offset, options.seed)

    @classmethod
    def from_paired_data(
        cls, data: PairedData, widths: Sequence[int] = (512, 256), norm: str = "layer", architecture: str = "cellbasis",
        style_input: str = "constant", offset: str = "lowest", seed: int = 0, threads: int | None = None,
    ) -> SpaIM:
        """A model over already prepared data (used by cross-validation and tiles to share the SC clustering)."""
        check_module_options(widths, norm, architecture, style_input, offset)
        model = cls.__new__(cls)
        model.threads = resolve_threads(threads)
        with thread_limits(model.threads):
            model._init_from_data(replace(data, options=replace(data.options, seed=seed)), widths, norm, architecture, style_input,
                                  offset, seed)
        return model

    @property
    def options(self) -> SetupOptions:
        """The set-up options the model was created with."""
        return self.data.options

    def _init_from_data(
        self, data: PairedData, widths: Sequence[int], norm: str, architecture: str, style_input: str, offset: str, seed: int
    ) -> None:
        self.data = data
        self.module_params = {"widths": [int(w) for w in widths], "norm": norm, "architecture": architecture,
                              "style_input": style_input, "offset": offset}
        self.seed = seed
        torch.manual_seed(seed)
        basis = None
        if architecture == "cellbasis":  # a part of a slide brings the slide's basis
            basis = data.cell_basis if data.cell_basis is not None else data.make_cell_basis(seed)
        self.module = SpaIMModule(
            data.n_cells, data.reference.n_clusters, self.module_params["widths"], norm,
            n_features=None if basis is None else basis.n_features, style_input=style_input,
            n_metacells=0 if basis is None else data.reference.n_metacells,
        )
        if basis is not None:
            self.module.cells.set_basis(torch.from_numpy(basis.features), torch.from_numpy(basis.assignment))
            mappings = basis.mappings  # averaged; recorded for reading (a load rebuilds the basis from the data)
            self.module_params |= {"mapping": "+".join(m.kind for m in mappings),
                                   "temperature": [m.temperature for m in mappings],
                                   "mapping_epochs": [m.epochs for m in mappings], "smoothing": basis.smoothing}
        self.history: pd.DataFrame | None = None
        self.scale_ = 1.0
        self.is_trained = False
        self.calibration = None

    def sc_inputs(self, genes: Sequence[str]) -> np.ndarray:
        """Genes x the module's SC input: cluster profiles, then (cell basis) metacell profiles."""
        reference = self.data.reference
        if self.module.cells is None:
            return reference.profiles_of(genes)
        return np.hstack([reference.profiles_of(genes), reference.metacell_profiles_of(genes)])

    # ------------------------------------------------------------------ training
    def train(self, device: str = "auto", progress: bool = True, **plan) -> SpaIM:
        """Train on every shared gene.

        Parameters
        ----------
        device
            ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
        progress
            Show a progress bar.
        **plan
            Fields of :class:`spaim.training.TrainingPlan` (``max_epochs=300``, ``lr``: 3e-3 for
            the cell-basis architecture, 1e-3 for the paper's (``ARCHITECTURE_LR``),
            ``batch_size=64``, ``validation_fraction=0.1``, ``patience=20``,
            ``generator_target="measured"``, ``augment_copies=0``, ``similarity="pearson"``,
            ``precision="float32"``)
            and the loss weights
            ``content_weight``, ``style_weight``, ``reconstruction_weight``,
            ``generation_weight`` (1 each); all are checked before training starts.

        Returns
        -------
        The model itself, trained, with the loss history in ``history``.
        """
        plan = TrainingPlan.from_kwargs({"lr": ARCHITECTURE_LR[self.module_params["architecture"]]} | plan)
        self.device = resolve_device(device)
        with thread_limits(self.threads):
            st_log = self.data.st_log_by_gene(slice(None), self.data.st_size_factors())
            sc = torch.from_numpy(self.sc_inputs(self.data.shared_sc))
            self.history = train_module(self.module, torch.from_numpy(st_log), sc, plan, seed=self.seed, device=self.device, progress=progress)
            self.train_params = {k: v for k, v in asdict(plan).items() if k != "weights"} | asdict(plan.weights)
            self.is_trained = True
            self.scale_ = self._fit_scale(st_log)
        return self

    def _fit_scale(self, measured: np.ndarray) -> float:
        """One positive factor bringing generated profiles to the measured log scale.

        The cosine losses fix each profile's shape but not its size; a single least-squares
        factor over the training genes restores the scale without changing any metric.
        ``measured`` is shared genes x ST cells; sums are taken chunk by chunk.
        """
        cross = square = 0.0
        for genes, predicted in self._generate_chunks(self.data.shared_sc, scale=1.0):
            cross += float(np.einsum("ij,ji->", predicted, measured[genes], dtype=np.float64))
            square += float(np.einsum("ij,ij->", predicted, predicted, dtype=np.float64))
        scale = cross / max(square, 1e-12)
        return scale if np.isfinite(scale) and scale > 0 else 1.0

    # ---------------------------------------------------------------- prediction
    @torch.no_grad()
    def _generate_chunks(
        self, sc_genes: Sequence[str], scale: float, chunk_size: int | None = None
    ) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(genes, values)``: ST cells x a chunk of ``sc_genes``, offset, clipped at 0 and scaled (float32 views)."""
        self.module.eval()
        profiles = self.sc_inputs(sc_genes)
        step = resolve_chunk_size(chunk_size, self.data.n_cells)
        for start in range(0, len(profiles), step):
            stop = min(start + step, len(profiles))
            chunk = torch.from_numpy(profiles[start:stop]).to(self.device)
            generated = self.module.generate(chunk)
            if self.module_params["offset"] == "lowest":  # every cell of the slide is in the chunk's rows
                generated.sub_(generated.amin(dim=1, keepdim=True))
            generated.clamp_(min=0).mul_(scale)
            yield slice(start, stop), generated.cpu().numpy().T

    def predict(self, genes: Sequence[str], chunk_size: int | None = None) -> np.ndarray:
        """ST cells x ``genes`` predicted from the SC reference alone, on the log1p scale (float32).

        ``chunk_size`` genes are generated at a time (default: chunks of about 64 MB);
        only the result and one chunk are held in memory.
        """
        self._check_trained()
        genes = self.genes_to_impute(genes)
        with thread_limits(self.threads):
            out = np.empty((self.data.n_cells, len(genes)), dtype=np.float32)
            for cols, values in self._generate_chunks(genes, self.scale_, chunk_size):
                out[:, cols] = values
        return out

    def default_genes(self) -> list[str]:
        """Every SC gene kept by the filter that the ST panel did not measure."""
        return self.data.default_genes()

    def calibrate(self, folds: int = 5, ensemble: int = 2, coverage: float | None = 0.9, progress: bool = True) -> SpaIM:
        """Learn per-gene confidence and per-cell intervals from held-out panel genes.

        Trains ``folds * ensemble`` fold models (and ``ensemble - 1`` companions); see
        :func:`spaim.confidence.calibrate`. Afterwards :meth:`impute` adds
        ``var["confidence"]`` (estimated held-out PCC), its features, and unless
        ``coverage=None`` the interval bounds ``layers["lower"]`` and ``layers["upper"]``.
        """
        from spaim.confidence import calibrate

        self.calibration = calibrate(self, folds=folds, ensemble=ensemble, coverage=coverage, progress=progress)
        return self

    def genes_to_impute(self, genes: Sequence[str] | None = None) -> list[str]:
        """The genes :meth:`impute` would return, checked (works before training, to fail early).

        Raises
        ------
        SpaIMInputError
            When the list is empty (or nothing is left to impute), names a gene twice or a
            gene the SC reference does not hold.
        """
        if genes is None:
            genes = self.default_genes()
            if not genes:
                raise SpaIMInputError(
                    "nothing to impute: the ST panel measures every SC gene kept by the expression filter; "
                    "name genes to predict (genes=[...], CLI: --genes), or lower min_cell_fraction to keep rarer SC genes."
                )
            return genes
        if isinstance(genes, str):
            raise SpaIMInputError(f"genes={genes!r} is one string: pass a list of gene names, e.g. [{genes!r}].")
        genes = list(genes)
        if not genes:
            raise SpaIMInputError("no genes requested: name at least one gene, or pass None for every unmeasured gene.")
        check_imputable(genes, self.data.reference.genes)
        return genes

    def impute(
        self,
        genes: Sequence[str] | None = None,
        out: str | os.PathLike | None = None,
        *,
        min_confidence: float | None = None,
        chunk_size: int | None = None,
        dtype: str = "float32",
        force: bool = False,
        progress: bool = False,
    ) -> ad.AnnData | Path:
        """Impute genes for every ST cell, in memory or streamed to an ``.h5ad`` file.

        Parameters
        ----------
        genes
            SC gene names; default :meth:`default_genes`. Measured genes may be included
            (they are predicted from SC alone, e.g. to compare with the measurement).
        out
            Write to this ``.h5ad`` instead of returning an AnnData: genes are generated,
            described (after :meth:`calibrate`) and written ``chunk_size`` at a time, so
            memory holds one chunk whatever the number of genes. The file appears only once
            complete.
        min_confidence
            Keep only genes whose ``var["confidence"]`` is at least this (needs :meth:`calibrate`).
        chunk_size
            Genes generated at a time (default: chunks of about 64 MB).
        dtype
            ``"float32"`` (default) or ``"float16"`` values (the interval layers too).
        force
            Overwrite an existing ``out``.
        progress
            Show a progress bar over the chunks written to ``out``.

        Returns
        -------
        Without ``out``, a new AnnData: ST cells as ``obs`` (with ``obs`` and
        ``obsm["spatial"]`` copied), imputed genes as ``var`` with a boolean ``measured``
        column, log1p values in ``X`` (marked as scanpy marks them: ``uns["log1p"] =
        {"base": None}``); after :meth:`calibrate` also ``var["confidence"]``, its features
        and the interval layers. With ``out``, the path of the same AnnData on disk.
        """
        self._check_trained()
        genes = self.genes_to_impute(genes)
        dtype = resolve_dtype(dtype)
        calibration = self.calibration
        if min_confidence is not None:
            check_number("min_confidence", min_confidence)
            if calibration is None:
                raise SpaIMInputError("min_confidence needs each gene's confidence: call model.calibrate() first.")
        frame = imputed_frame(self.data, genes, self.seed)
        if out is not None:
            check_can_write(out, force)
        if out is None:
            frame.X = self.predict(genes, chunk_size).astype(dtype, copy=False)
            if calibration is not None:
                calibration.annotate(self.data, frame)
            return frame if min_confidence is None else frame[:, frame.var["confidence"].to_numpy() >= min_confidence].copy()
        intervals = calibration is not None and calibration.intervals is not None
        if intervals:
            frame.uns["spaim"]["interval_coverage"] = calibration.intervals.coverage
        step = resolve_chunk_size(chunk_size, self.data.n_cells, dtype)
        with thread_limits(self.threads), open_h5ad_writer(out, frame, dtype, force, ("lower", "upper") if intervals else ()) as blocks:
            chunks = self._generate_chunks(genes, self.scale_, step)
            described, written = [], 0
            for cols, values in tqdm(chunks, total=-(-len(genes) // step), desc="writing", unit="chunk", disable=not progress, leave=False):
                if calibration is None:
                    blocks[:, cols] = values
                    continue
                values = values.astype(dtype, copy=False)
                features, bounds = calibration.describe(self.data, genes[cols], values)
                keep = np.ones(len(features), bool) if min_confidence is None else features["confidence"].to_numpy() >= min_confidence
                # Kept genes are written one after the other; the file is cut to them at the end.
                into = slice(written, written + int(keep.sum()))
                blocks[:, into] = values[:, keep]
                if bounds is not None:
                    blocks.layers["lower"][:, into], blocks.layers["upper"][:, into] = (b[:, keep] for b in bounds)
                described.append(pd.concat([frame.var.iloc[cols], features.set_axis(frame.var.index[cols])], axis=1)[keep])
                written = into.stop
            if calibration is not None:
                blocks.var = pd.concat(described)
        return Path(out)

    def _check_trained(self) -> None:
        if not self.is_trained:
            raise SpaIMInputError("the model is not trained yet: call model.train() first.")

    # ------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Save weights, settings, the SC reference and the history to folder ``path``."""
        self._check_trained()
        path = check_model_destination(path, overwrite)
        ref = self.data.reference
        settings = {
            "setup_params": self.options.to_dict(),
            "module_params": self.module_params,
            "train_params": self.train_params,
            "scale": self.scale_,
            "seed": self.seed,
            "st_cells": list(map(str, self.data.st_obs.index)),
            "st_fingerprint": self.data.st_fingerprint(),
            "shared_st": self.data.shared_st,
            "shared_sc": self.data.shared_sc,
        }
        with atomic_folder(path) as tmp:  # all four files or none
            (tmp / "settings.json").write_text(json.dumps(settings))
            torch.save(self.module.state_dict(), tmp / "module.pt")
            with (tmp / "reference.npz").open("wb") as fh:
                np.savez(fh, genes=np.asarray(ref.genes, dtype=str), profiles=ref.profiles, labels=ref.labels,
                         cluster_names=np.asarray(ref.cluster_names, dtype=str), metacell_profiles=ref.metacell_profiles,
                         metacell_sizes=ref.metacell_sizes, metacell_clusters=ref.metacell_clusters)
            self.history.to_csv(tmp / "history.csv", index=False)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, st: ad.AnnData, sc: ad.AnnData, device: str = "auto", threads: int | None = None) -> SpaIM:
        """Load a model saved with :meth:`save`, checking that ``st`` and ``sc`` match it.

        The ST cells, the shared genes and a fingerprint of the ST counts must equal those
        the model was trained on (cell names alone repeat across Visium slides).
        """
        path = Path(path)
        if not all((path / f).is_file() for f in _SAVE_FILES):
            raise SpaIMInputError(f"'{path}' is not a saved SpaIM model (expected {list(_SAVE_FILES)}): check the path.")
        with _corrupt_model_is_input_error(path):
            settings = json.loads((path / "settings.json").read_text())
            options = SetupOptions(**settings["setup_params"])
            module_params = settings["module_params"]
            stored = {k: settings[k] for k in ("st_cells", "st_fingerprint", "shared_st", "seed", "scale", "train_params")}
            with np.load(path / "reference.npz") as npz:
                reference = SCReference(pd.Index(npz["genes"]), npz["profiles"], npz["labels"], list(npz["cluster_names"]),
                                        npz["metacell_profiles"], npz["metacell_sizes"], npz["metacell_clusters"])
            state = torch.load(path / "module.pt", map_location="cpu", weights_only=True)
            history = pd.read_csv(path / "history.csv")
        if list(map(str, st.obs_names)) != stored["st_cells"]:
            raise SpaIMInputError("the ST cells differ from those the model was trained on: load it with the same ST data.")
        sc_genes = sc.var_names.astype(str).str.strip() if options.strip_gene_names else sc.var_names
        missing = reference.genes.difference(sc_genes)
        if len(missing):
            raise SpaIMInputError(f"the SC data lacks {len(missing)} gene(s) the model was trained with (e.g. {list(missing[:3])}): load it with the same SC data.")
        with _corrupt_model_is_input_error(path):  # settings naming an unknown network are damaged too
            check_module_options(module_params["widths"], module_params["norm"], module_params.get("architecture", "paper"),
                                 module_params.get("style_input", "constant"), module_params.get("offset", "none"))
        model = cls(st, sc, _reference=reference, widths=module_params["widths"], norm=module_params["norm"],
                    architecture=module_params.get("architecture", "paper"),
                    style_input=module_params.get("style_input", "constant"),
                    offset=module_params.get("offset", "none"),  # models saved before the option: as they predicted
                    options=replace(options, seed=stored["seed"]), threads=threads)
        if model.data.shared_st != stored["shared_st"]:
            raise SpaIMInputError("the genes shared by ST and SC differ from those the model was trained on: use the same data.")
        if model.data.st_fingerprint() != stored["st_fingerprint"]:
            raise SpaIMInputError(
                "the ST counts differ from those the model was trained on (same cell names, other values, e.g. another "
                "slide): load it with the ST data it was trained on, or train a new model on these data."
            )
        if model.module.cells is not None and "gate" not in state:
            raise SpaIMInputError(
                f"the saved model in '{path}' comes from an earlier spaim, whose cell-basis generator had no gate on its "
                "learned departure: train the model again with this version and save it."
            )
        with _corrupt_model_is_input_error(path):
            model.module.load_state_dict(state)
        model.device = resolve_device(device)
        model.module.to(model.device).eval()
        model.history = history
        model.train_params = stored["train_params"]
        model.scale_ = float(stored["scale"])
        model.is_trained = True
        return model

    def __repr__(self) -> str:
        state = "trained" if self.is_trained else "untrained"
        return (
            f"SpaIM({state}; {self.data.n_cells} ST cells, {len(self.data.shared_st)} shared genes, "
            f"{len(self.data.reference.genes)} SC genes, {self.data.reference.n_clusters} SC clusters)"
        )



def check_module_options(
    widths: Sequence[int], norm: str, architecture: str = "cellbasis", style_input: str = "constant", offset: str = "lowest"
) -> None:
    """Refuse network options the module cannot be built with."""
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence) or not widths or not all(
        isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1 for w in widths
    ):
        raise option_error("widths", widths, "must be a non-empty list of positive integers", "e.g. widths=(512, 256)")
    if norm not in NORMS:
        raise option_error("norm", norm, "is unknown", f"use one of {', '.join(map(repr, sorted(NORMS)))}")
    if architecture not in ARCHITECTURES:
        raise option_error("architecture", architecture, "is unknown", f"use one of {', '.join(map(repr, ARCHITECTURES))}")
    if style_input not in STYLE_INPUTS:
        raise option_error("style_input", style_input, "is unknown", f"use one of {', '.join(map(repr, STYLE_INPUTS))}")
    if offset not in OFFSETS:
        raise option_error("offset", offset, "is unknown", f"use one of {', '.join(map(repr, OFFSETS))}")


def check_model_destination(path: str | os.PathLike, overwrite: bool, flag: str = "overwrite=True") -> Path:
    """Refuse to save a model onto a file, or into a folder holding one unless ``overwrite``.

    ``flag`` names the override in the caller's terms (the CLI passes ``--force``).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SpaIMInputError(f"model folder '{path}' is an existing file: choose a folder path for the model.")
    if path.is_dir() and not overwrite and any((path / f).exists() for f in _SAVE_FILES):
        raise SpaIMInputError(f"'{path}' already holds a saved model: choose another folder or pass {flag}.")
    if not path.parent.is_dir():
        raise SpaIMInputError(f"the folder '{path.parent}' for the model does not exist: create it first.")
    return path


@contextlib.contextmanager
def _corrupt_model_is_input_error(path: Path) -> Iterator[None]:
    """Any failure reading a saved model's files becomes one line saying it is damaged."""
    try:
        yield
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError, EOFError, pickle.UnpicklingError) as exc:
        if isinstance(exc, SpaIMInputError):
            raise SpaIMInputError(f"the saved model in '{path}' has invalid settings ({exc}): save it again from a trained model.") from None
        raise SpaIMInputError(
            f"the saved model in '{path}' is damaged ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else 'unreadable'}): "
            "save it again from a trained model."
        ) from None


def check_imputable(genes: list[str], available: pd.Index) -> None:
    """Fail on duplicate genes or genes the SC reference cannot impute."""
    if len(set(genes)) != len(genes):
        raise SpaIMInputError("the requested genes contain duplicates: pass each gene once.")
    missing = [g for g in genes if g not in available]
    if missing:
        raise SpaIMInputError(
            f"{len(missing)} requested gene(s) are not available in the SC reference (e.g. {missing[:3]}): "
            "check the names, or pass them as genes= when creating the model so the SC expression filter keeps them."
        )


def imputed_frame(data: PairedData, genes: Sequence[str], seed: int) -> ad.AnnData:
    """The imputed AnnData without values: ST cells as ``obs`` (``obs``, ``obsm["spatial"]`` copied), ``genes`` as ``var``."""
    frame = ad.AnnData(
        obs=data.st_obs.copy(),
        var=pd.DataFrame({"measured": [g in data.match.measured_sc for g in genes]}, index=pd.Index(list(genes), dtype=str)),
    )
    if data.st_spatial is not None:
        frame.obsm["spatial"] = data.st_spatial.copy()
    frame.uns["log1p"] = {"base": None}
    frame.uns["spaim"] = {"scale": "log1p", "n_clusters": int(data.reference.n_clusters), "seed": int(seed)}
    return frame
