"""The user-facing SpaIM model: set up on an ST/SC pair, train, impute, save and load."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import torch

from spaim.errors import SpaIMInputError
from spaim.io import atomic_path
from spaim.model.losses import LossWeights
from spaim.cell_basis import CellBasis, build_cell_basis
from spaim.model.networks import ARCHITECTURES, STYLE_INPUTS, SpaIMModule
from spaim.pairing import PairedData, prepare_pair
from spaim.preprocessing import SCReference
from spaim.training import TrainingPlan, resolve_device, train_module

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
        seed: int = 0,
        _reference: SCReference | None = None,
    ) -> None:
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
        data = prepare_pair(st, sc, genes=genes, reference=_reference, **self.setup_params)
        self._init_from_data(data, widths, norm, architecture, style_input, seed)

    @classmethod
    def from_paired_data(
        cls, data: PairedData, widths: Sequence[int] = (512, 256), norm: str = "layer", architecture: str = "cellbasis",
        style_input: str = "constant", seed: int = 0,
    ) -> SpaIM:
        """A model over already prepared data (used by cross-validation to share the SC clustering)."""
        model = cls.__new__(cls)
        model.setup_params = {"seed": seed, "normalize": data.normalize}
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
        genes = np.arange(len(self.data.shared_st))
        self._factors = self.data.st_size_factors()
        st_log = self.data.st_log(genes, self._factors)
        st = torch.from_numpy(np.ascontiguousarray(st_log.T))
        sc = torch.from_numpy(self.data.reference.profiles_of(self.data.shared_sc))
        self.history = train_module(self.module, st, sc, plan, seed=self.seed, device=self.device, progress=progress)
        self.train_params = {k: v for k, v in asdict(plan).items() if k != "weights"} | asdict(plan.weights)
        self.is_trained = True
        self.scale_ = self._fit_scale(st_log)
        return self

    def _fit_scale(self, measured: np.ndarray) -> float:
        """One positive factor bringing generated profiles to the measured log scale.

        The cosine losses fix each profile's shape but not its size; a single least-squares
        factor over the training genes restores the scale without changing any metric.
        """
        predicted = self._generate(self.data.shared_sc)
        scale = float((predicted * measured).sum() / max((predicted**2).sum(), 1e-12))
        return scale if np.isfinite(scale) and scale > 0 else 1.0

    # ---------------------------------------------------------------- prediction
    @torch.no_grad()
    def _generate(self, sc_genes: Sequence[str]) -> np.ndarray:
        self.module.eval()
        profiles = torch.from_numpy(self.data.reference.profiles_of(sc_genes))
        out = [self.module.generate(chunk.to(self.device)).cpu() for chunk in profiles.split(4096)]
        return np.clip(torch.cat(out).numpy().T, 0, None)

    def predict(self, genes: Sequence[str]) -> np.ndarray:
        """ST cells x ``genes`` predicted from the SC reference alone, on the log1p scale."""
        self._check_trained()
        genes = list(genes)
        self._check_imputable(genes)
        return (self._generate(genes) * self.scale_).astype(np.float32)

    def default_genes(self) -> list[str]:
        """Every SC gene kept by the filter that the ST panel did not measure."""
        measured = set(self.data.shared_sc)
        return [g for g in self.data.reference.genes if g not in measured]

    def impute(self, genes: Sequence[str] | None = None) -> ad.AnnData:
        """Impute genes for every ST cell.

        Parameters
        ----------
        genes
            SC gene names; default :meth:`default_genes`. Measured genes may be included
            (they are predicted from SC alone, e.g. to compare with the measurement).

        Returns
        -------
        A new AnnData: ST cells as ``obs`` (with ``obs`` and ``obsm["spatial"]`` copied),
        imputed genes as ``var`` with a boolean ``measured`` column, log1p values in ``X``.
        """
        genes = self.default_genes() if genes is None else list(genes)
        values = self.predict(genes)
        out = ad.AnnData(
            X=values,
            obs=self.data.st_obs.copy(),
            var=pd.DataFrame({"measured": [g in set(self.data.shared_sc) for g in genes]}, index=pd.Index(genes, dtype=str)),
        )
        if self.data.st_spatial is not None:
            out.obsm["spatial"] = self.data.st_spatial.copy()
        out.uns["spaim"] = {"scale": "log1p", "n_clusters": int(self.data.reference.n_clusters), "seed": int(self.seed)}
        return out

    def _check_trained(self) -> None:
        if not self.is_trained:
            raise SpaIMInputError("the model is not trained yet: call model.train() first.")

    def _check_imputable(self, genes: list[str]) -> None:
        if len(set(genes)) != len(genes):
            raise SpaIMInputError("the requested genes contain duplicates: pass each gene once.")
        missing = [g for g in genes if g not in self.data.reference.genes]
        if missing:
            raise SpaIMInputError(
                f"{len(missing)} requested gene(s) are not available in the SC reference (e.g. {missing[:3]}): "
                "check the names, or pass them as genes= when creating the model so the SC expression filter keeps them."
            )

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
    def load(cls, path: str | os.PathLike, st: ad.AnnData, sc: ad.AnnData, device: str = "auto") -> SpaIM:
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
                    **{k: v for k, v in params.items() if k != "seed"}, seed=settings["seed"])
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

