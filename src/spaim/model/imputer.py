"""The user-facing SpaIM model: set up on an ST/SC pair, train, impute, save and load."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from spaim._threads import resolve_threads, thread_limits
from spaim.errors import SpaIMInputError
from spaim.io import atomic_path, check_can_write
from spaim.model.losses import LossWeights
from spaim.cell_basis import CellBasis, build_cell_basis
from spaim.model.networks import ARCHITECTURES, STYLE_INPUTS, SpaIMModule
from spaim.pairing import PairedData, prepare_pair
from spaim.preprocessing import SCReference
from spaim.training import TrainingPlan, resolve_device, train_module
from spaim.writer import open_h5ad_writer, resolve_chunk_size, resolve_dtype

_SAVE_FILES = ("settings.json", "module.pt", "reference.npz", "history.csv")


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
    st_layer, sc_layer
        Layers holding raw counts (default ``X``).
    ignore_case
        Match gene names between ST and SC ignoring case.
    allow_non_integer
        Accept non-integer (already processed, non-negative) values.
    normalize
        Library-size normalise (to the median total) before ``log1p``.
    min_cell_fraction
        Keep SC genes expressed in at least this fraction of SC cells.
    labels_key
        ``sc.obs`` column with cell labels to use instead of Leiden clusters.
    resolution, n_clusters
        Leiden resolution, or a target number of clusters (searched over resolutions).
    profile_stat
        ``"mean"`` (default) or ``"median"`` (paper) log expression per SC cluster.
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
    threads
        CPU threads for torch, BLAS and numba while this model computes (default: the
        CPUs this process may use, capped by ``OMP_NUM_THREADS`` when set). On a shared
        or busy machine, fewer threads than cores avoid spinning.
    seed
        Seed for clustering, initialisation, batching and augmentation.

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
        st_layer: str | None = None,
        sc_layer: str | None = None,
        ignore_case: bool = False,
        allow_non_integer: bool = False,
        normalize: bool = True,
        min_cell_fraction: float = 0.1,
        labels_key: str | None = None,
        resolution: float = 1.0,
        n_clusters: int | None = None,
        profile_stat: str = "mean",
        widths: Sequence[int] = (512, 256),
        norm: str = "layer",
        architecture: str = "cellbasis",
        style_input: str = "constant",
        threads: int | None = None,
        seed: int = 0,
        _reference: SCReference | None = None,
    ) -> None:
        self.threads = resolve_threads(threads)
        self.setup_params = dict(
            st_layer=st_layer,
            sc_layer=sc_layer,
            ignore_case=ignore_case,
            allow_non_integer=allow_non_integer,
            normalize=normalize,
            min_cell_fraction=min_cell_fraction,
            labels_key=labels_key,
            resolution=resolution,
            n_clusters=n_clusters,
            profile_stat=profile_stat,
            seed=seed,
        )
        with thread_limits(self.threads):
            data = prepare_pair(st, sc, genes=genes, reference=_reference, **self.setup_params)
            self._init_from_data(data, widths, norm, architecture, style_input, seed)

    @classmethod
    def from_paired_data(
        cls, data: PairedData, widths: Sequence[int] = (512, 256), norm: str = "layer", architecture: str = "cellbasis",
        style_input: str = "constant", seed: int = 0, threads: int | None = None,
    ) -> SpaIM:
        """A model over already prepared data (used by cross-validation and tiles to share the SC clustering)."""
        model = cls.__new__(cls)
        model.threads = resolve_threads(threads)
        model.setup_params = {"seed": seed, "normalize": data.normalize}
        with thread_limits(model.threads):
            model._init_from_data(data, widths, norm, architecture, style_input, seed)
        return model

    def _init_from_data(
        self, data: PairedData, widths: Sequence[int], norm: str, architecture: str, style_input: str, seed: int
    ) -> None:
        if not widths or any(int(w) < 1 for w in widths):
            raise SpaIMInputError(f"widths must be positive integers, got {list(widths)}: e.g. widths=(512, 256).")
        if architecture not in ARCHITECTURES:
            raise SpaIMInputError(f"architecture '{architecture}' is unknown: use one of {ARCHITECTURES}.")
        if style_input not in STYLE_INPUTS:
            raise SpaIMInputError(f"style_input '{style_input}' is unknown: use one of {STYLE_INPUTS}.")
        self.data = data
        self.module_params = {"widths": [int(w) for w in widths], "norm": norm, "architecture": architecture,
                              "style_input": style_input}
        self.seed = seed
        torch.manual_seed(seed)
        basis = self._cell_basis() if architecture == "cellbasis" else None
        self.module = SpaIMModule(
            data.n_cells, data.reference.n_clusters, self.module_params["widths"], norm,
            n_features=None if basis is None else basis.n_features, style_input=style_input,
        )
        if basis is not None:
            self.module.cells.set_basis(torch.from_numpy(basis.features), torch.from_numpy(basis.assignment))
            self.module_params["temperature"] = basis.temperature
        self.history: pd.DataFrame | None = None
        self.scale_ = 1.0
        self.is_trained = False

    def _cell_basis(self) -> CellBasis:
        """The ST-cell features of the shared genes (model scale) and the SC cluster profiles."""
        data = self.data
        genes = np.arange(len(data.shared_st))
        st_log = data.st_log(genes, data.st_size_factors())
        return build_cell_basis(st_log, data.reference.profiles_of(data.shared_sc), data.st_spatial, seed=self.seed)

    # ------------------------------------------------------------------ training
    def train(
        self,
        max_epochs: int = 300,
        lr: float = 1e-3,
        batch_size: int = 64,
        validation_fraction: float = 0.1,
        patience: int = 20,
        content_weight: float = 1.0,
        style_weight: float = 1.0,
        reconstruction_weight: float = 1.0,
        generation_weight: float = 1.0,
        generator_target: str = "measured",
        augment_copies: int = 0,
        similarity: str = "cosine",
        device: str = "auto",
        progress: bool = True,
    ) -> SpaIM:
        """Train on every shared gene; see :class:`spaim.training.TrainingPlan` for the options.

        Returns
        -------
        The model itself, trained, with the loss history in ``history``.
        """
        plan = TrainingPlan(
            max_epochs=max_epochs,
            lr=lr,
            batch_size=batch_size,
            validation_fraction=validation_fraction,
            patience=patience,
            weights=LossWeights(content_weight, style_weight, reconstruction_weight, generation_weight),
            generator_target=generator_target,
            augment_copies=augment_copies,
            similarity=similarity,
        )
        self.device = resolve_device(device)
        with thread_limits(self.threads):
            st_log = self.data.st_log_by_gene(slice(None), self.data.st_size_factors())
            sc = torch.from_numpy(self.data.reference.profiles_of(self.data.shared_sc))
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
        """Yield ``(genes, values)``: ST cells x a chunk of ``sc_genes``, clipped at 0 and scaled (float32 views)."""
        self.module.eval()
        profiles = self.data.reference.profiles_of(sc_genes)
        step = resolve_chunk_size(chunk_size, self.data.n_cells)
        for start in range(0, len(profiles), step):
            stop = min(start + step, len(profiles))
            chunk = torch.from_numpy(profiles[start:stop]).to(self.device)
            generated = self.module.generate(chunk).clamp_(min=0).mul_(scale)
            yield slice(start, stop), generated.cpu().numpy().T

    def _check_genes(self, genes: Sequence[str] | None) -> list[str]:
        self._check_trained()
        genes = self.default_genes() if genes is None else list(genes)
        check_imputable(genes, self.data.reference.genes)
        return genes

    def predict(self, genes: Sequence[str], chunk_size: int | None = None) -> np.ndarray:
        """ST cells x ``genes`` predicted from the SC reference alone, on the log1p scale (float32).

        ``chunk_size`` genes are generated at a time (default: chunks of about 64 MB);
        only the result and one chunk are held in memory.
        """
        genes = self._check_genes(genes)
        with thread_limits(self.threads):
            out = np.empty((self.data.n_cells, len(genes)), dtype=np.float32)
            for cols, values in self._generate_chunks(genes, self.scale_, chunk_size):
                out[:, cols] = values
        return out

    def default_genes(self) -> list[str]:
        """Every SC gene kept by the filter that the ST panel did not measure."""
        return self.data.default_genes()

    def impute(
        self,
        genes: Sequence[str] | None = None,
        out: str | os.PathLike | None = None,
        *,
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
            Write to this ``.h5ad`` instead of returning an AnnData: genes are generated and
            written ``chunk_size`` at a time, so memory holds one chunk whatever the number
            of genes. The file appears only once complete.
        chunk_size
            Genes generated at a time (default: chunks of about 64 MB).
        dtype
            ``"float32"`` (default) or ``"float16"`` values.
        force
            Overwrite an existing ``out``.
        progress
            Show a progress bar over the chunks written to ``out``.

        Returns
        -------
        Without ``out``, a new AnnData: ST cells as ``obs`` (with ``obs`` and
        ``obsm["spatial"]`` copied), imputed genes as ``var`` with a boolean ``measured``
        column, log1p values in ``X``. With ``out``, the path of the same AnnData on disk.
        """
        genes = self._check_genes(genes)
        dtype = resolve_dtype(dtype)
        frame = imputed_frame(self.data, genes, self.seed)
        if out is None:
            frame.X = self.predict(genes, chunk_size).astype(dtype, copy=False)
            return frame
        check_can_write(out, force)
        step = resolve_chunk_size(chunk_size, self.data.n_cells, dtype)
        with thread_limits(self.threads), open_h5ad_writer(out, frame, dtype, force) as x:
            chunks = self._generate_chunks(genes, self.scale_, step)
            for cols, values in tqdm(chunks, total=-(-len(genes) // step), desc="writing", unit="chunk", disable=not progress, leave=False):
                x[:, cols] = values
        return Path(out)

    def _check_trained(self) -> None:
        if not self.is_trained:
            raise SpaIMInputError("the model is not trained yet: call model.train() first.")

    # ------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Save weights, settings, the SC reference and the history to folder ``path``."""
        self._check_trained()
        path = Path(path)
        if path.exists() and not overwrite and any((path / f).exists() for f in _SAVE_FILES):
            raise SpaIMInputError(f"'{path}' already holds a saved model: choose another folder or pass overwrite=True.")
        path.mkdir(parents=True, exist_ok=True)
        ref = self.data.reference
        settings = {
            "setup_params": self.setup_params,
            "module_params": self.module_params,
            "train_params": self.train_params,
            "scale": self.scale_,
            "seed": self.seed,
            "st_cells": list(map(str, self.data.st_obs.index)),
            "shared_st": self.data.shared_st,
            "shared_sc": self.data.shared_sc,
        }
        with atomic_path(path / "settings.json", force=True) as tmp:
            tmp.write_text(json.dumps(settings))
        with atomic_path(path / "module.pt", force=True) as tmp:
            torch.save(self.module.state_dict(), tmp)
        with atomic_path(path / "reference.npz", force=True) as tmp, tmp.open("wb") as fh:
            np.savez(fh, genes=np.asarray(ref.genes, dtype=str), profiles=ref.profiles, labels=ref.labels,
                     cluster_names=np.asarray(ref.cluster_names, dtype=str))
        with atomic_path(path / "history.csv", force=True) as tmp:
            self.history.to_csv(tmp, index=False)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, st: ad.AnnData, sc: ad.AnnData, device: str = "auto", threads: int | None = None) -> SpaIM:
        """Load a model saved with :meth:`save`, checking that ``st`` and ``sc`` match it."""
        path = Path(path)
        if not all((path / f).exists() for f in _SAVE_FILES):
            raise SpaIMInputError(f"'{path}' is not a saved SpaIM model (expected {list(_SAVE_FILES)}): check the path.")
        settings = json.loads((path / "settings.json").read_text())
        if list(map(str, st.obs_names)) != settings["st_cells"]:
            raise SpaIMInputError("the ST cells differ from those the model was trained on: load it with the same ST data.")
        with np.load(path / "reference.npz") as npz:
            reference = SCReference(pd.Index(npz["genes"]), npz["profiles"], npz["labels"], list(npz["cluster_names"]))
        missing = reference.genes.difference(sc.var_names)
        if len(missing):
            raise SpaIMInputError(f"the SC data lacks {len(missing)} gene(s) the model was trained with (e.g. {list(missing[:3])}): load it with the same SC data.")
        params = settings["setup_params"]
        module_params = settings["module_params"]
        model = cls(st, sc, _reference=reference, widths=module_params["widths"], norm=module_params["norm"],
                    architecture=module_params.get("architecture", "paper"),
                    style_input=module_params.get("style_input", "constant"),
                    **{k: v for k, v in params.items() if k != "seed"}, seed=settings["seed"], threads=threads)
        if model.data.shared_st != settings["shared_st"]:
            raise SpaIMInputError("the genes shared by ST and SC differ from those the model was trained on: use the same data.")
        model.module.load_state_dict(torch.load(path / "module.pt", map_location="cpu", weights_only=True))
        model.device = resolve_device(device)
        model.module.to(model.device).eval()
        model.history = pd.read_csv(path / "history.csv")
        model.train_params = settings["train_params"]
        model.scale_ = settings["scale"]
        model.is_trained = True
        return model

    def __repr__(self) -> str:
        state = "trained" if self.is_trained else "untrained"
        return (
            f"SpaIM({state}; {self.data.n_cells} ST cells, {len(self.data.shared_st)} shared genes, "
            f"{len(self.data.reference.genes)} SC genes, {self.data.reference.n_clusters} SC clusters)"
        )


def imputed_frame(data: PairedData, genes: Sequence[str], seed: int) -> ad.AnnData:
    """The imputed AnnData without values: ST cells as ``obs`` (``obs``, ``obsm["spatial"]`` copied), ``genes`` as ``var``."""
    measured = set(data.shared_sc)
    frame = ad.AnnData(
        obs=data.st_obs.copy(),
        var=pd.DataFrame({"measured": [g in measured for g in genes]}, index=pd.Index(list(genes), dtype=str)),
    )
    if data.st_spatial is not None:
        frame.obsm["spatial"] = data.st_spatial.copy()
    frame.uns["spaim"] = {"scale": "log1p", "n_clusters": int(data.reference.n_clusters), "seed": int(seed)}
    return frame


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
