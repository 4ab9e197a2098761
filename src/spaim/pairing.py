"""Pairing an ST dataset with its SC reference: validated, gene-matched model inputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from spaim.errors import SpaIMInputError
from spaim.genes import GeneMatch, match_genes
from spaim.preprocessing import Matrix, SCReference, build_sc_reference, log1p_dense, size_factors
from spaim.validation import expression_matrix

#: ``obs`` column pairs accepted as coordinates when ``obsm["spatial"]`` is absent.
COORDINATE_COLUMNS = (("x", "y"), ("x_coord", "y_coord"), ("X", "Y"), ("array_col", "array_row"))


def spatial_coordinates(adata: ad.AnnData) -> np.ndarray | None:
    """Cell coordinates from ``obsm["spatial"]`` or a known pair of ``obs`` columns."""
    if "spatial" in adata.obsm:
        return np.asarray(adata.obsm["spatial"], dtype=np.float64)
    for x, y in COORDINATE_COLUMNS:
        if x in adata.obs and y in adata.obs:
            return adata.obs[[x, y]].to_numpy(dtype=np.float64)
    return None


@dataclass
class PairedData:
    """The ST cells, the shared genes' ST counts and the SC reference, ready for a model."""

    st_obs: pd.DataFrame
    st_spatial: np.ndarray | None
    st_counts: Matrix  # ST cells x shared genes, counts, in ``shared_st`` order
    match: GeneMatch
    reference: SCReference
    normalize: bool
    n_sc_genes: int = 0
    min_cell_fraction: float = 0.1

    @property
    def shared_st(self) -> list[str]:
        return self.match.st_names

    @property
    def shared_sc(self) -> list[str]:
        return self.match.sc_names

    @property
    def n_cells(self) -> int:
        return self.st_counts.shape[0]

    def gene_summary(self) -> str:
        """How many genes were shared, kept and dropped, and why."""
        kept = len(self.reference.genes)
        return (
            f"{self.match.summary()}; SC reference: {self.n_sc_genes} genes, {kept} kept for imputation, "
            f"{self.n_sc_genes - kept} dropped (expressed in < {self.min_cell_fraction:.0%} of SC cells)"
        )

    def default_genes(self) -> list[str]:
        """Every SC gene kept by the filter that the ST panel did not measure."""
        measured = set(self.shared_sc)
        return [g for g in self.reference.genes if g not in measured]

    def st_size_factors(self, genes: np.ndarray | None = None) -> np.ndarray | None:
        """Library-size factors from the given shared-gene columns (all by default); None without normalisation."""
        if not self.normalize:
            return None
        counts = self.st_counts if genes is None else self.st_counts[:, genes]
        return size_factors(counts)

    def st_log(self, genes: np.ndarray, factors: np.ndarray | None) -> np.ndarray:
        """ST cells x ``genes`` (column indices) on the model's log scale."""
        return log1p_dense(self.st_counts[:, genes], factors)

    def st_log_by_gene(self, genes: np.ndarray | slice, factors: np.ndarray | None) -> np.ndarray:
        """``genes`` x ST cells on the model's log scale (the training layout); ``slice(None)`` takes all in one dense copy."""
        counts = self.st_counts[:, genes].T if sp.issparse(self.st_counts) else self.st_counts.T[genes]
        return log1p_dense(counts, factors, cells_axis=1)

    def cells(self, rows: np.ndarray) -> PairedData:
        """The same pair restricted to some ST cells (e.g. a spatial tile), sharing the SC reference."""
        rows = np.asarray(rows)
        spatial = None if self.st_spatial is None else self.st_spatial[rows]
        return replace(self, st_obs=self.st_obs.iloc[rows], st_spatial=spatial, st_counts=self.st_counts[rows])

    def subset(self, genes: np.ndarray) -> PairedData:
        """The same pair restricted to some shared genes (e.g. a fold's training genes)."""
        genes = np.asarray(genes)
        match = replace(
            self.match,
            st_names=[self.match.st_names[i] for i in genes],
            sc_names=[self.match.sc_names[i] for i in genes],
        )
        return replace(self, st_counts=self.st_counts[:, genes], match=match)


def prepare_pair(
    st: ad.AnnData,
    sc: ad.AnnData,
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
    seed: int = 0,
    reference: SCReference | None = None,
) -> PairedData:
    """Validate ``st`` and ``sc``, match their genes and build the SC reference.

    Neither object is modified. ``reference`` skips clustering (used when loading a model).
    """
    st_counts = expression_matrix(st, "ST", st_layer, allow_non_integer)
    sc_counts = expression_matrix(sc, "SC", sc_layer, allow_non_integer)
    match = match_genes(st.var_names, sc.var_names, case_sensitive=not ignore_case)
    wanted = _check_requested(genes, sc.var_names)
    if reference is None:
        labels = _labels(sc, labels_key)
        if n_clusters is not None and n_clusters > sc.n_obs:
            raise SpaIMInputError(f"n_clusters={n_clusters} exceeds the {sc.n_obs} SC cells: ask for at most {sc.n_obs} clusters.")
        reference = build_sc_reference(
            sc_counts,
            sc.var_names,
            keep=[*match.sc_names, *wanted],
            min_cell_fraction=min_cell_fraction,
            labels=labels,
            resolution=resolution,
            n_clusters=n_clusters,
            profile_stat=profile_stat,
            normalize=normalize,
            seed=seed,
        )
    st_index = st.var_names.get_indexer(match.st_names)
    return PairedData(
        st_obs=st.obs.copy(),
        st_spatial=spatial_coordinates(st),
        st_counts=st_counts[:, st_index],
        match=match,
        reference=reference,
        normalize=normalize,
        n_sc_genes=sc.n_vars,
        min_cell_fraction=min_cell_fraction,
    )


def _check_requested(genes: Sequence[str] | None, sc_genes: pd.Index) -> list[str]:
    if genes is None:
        return []
    genes = list(genes)
    missing = [g for g in genes if g not in sc_genes]
    if missing:
        raise SpaIMInputError(
            f"{len(missing)} requested gene(s) are not in the SC reference (e.g. {missing[:3]}): check their spelling or drop them."
        )
    return genes


def _labels(sc: ad.AnnData, labels_key: str | None) -> np.ndarray | None:
    if labels_key is None:
        return None
    if labels_key not in sc.obs:
        raise SpaIMInputError(f"SC has no obs column '{labels_key}' (columns: {list(sc.obs.columns)}): pick one of them or omit labels_key.")
    return sc.obs[labels_key].to_numpy()
