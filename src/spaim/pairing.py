"""Pairing an ST dataset with its SC reference: validated, gene-matched model inputs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from spaim.cell_basis import CellBasis, Metacells, build_cell_basis
from spaim.errors import SpaIMInputError
from spaim.genes import GeneMatch, drop_unexpressed, gene_names, match_genes
from spaim.options import SetupOptions
from spaim.preprocessing import Matrix, SCReference, build_sc_reference, log1p_dense, size_factors
from spaim.sdata import as_anndata
from spaim.validation import check_anndata, check_coordinates, check_requested_genes, check_sc_cells, check_shared_genes, check_st_cells, expression_matrix

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
    """The ST cells, the shared genes' ST counts and the SC reference, ready for a model.

    A part of a slide (:meth:`cells`, e.g. a spatial tile) keeps what was computed over the
    whole slide: the cells' library-size factors (``slide_size_factors``) and, once
    :meth:`with_slide_setup` has made it, the ST cell basis (``cell_basis``), so that every
    part is normalised and matched to the SC reference on the same footing.
    """

    st_obs: pd.DataFrame
    st_spatial: np.ndarray | None
    st_counts: Matrix  # ST cells x shared genes, counts, in ``shared_st`` order
    match: GeneMatch
    reference: SCReference
    options: SetupOptions = field(default_factory=SetupOptions)
    n_sc_genes: int = 0
    slide_size_factors: np.ndarray | None = None
    cell_basis: CellBasis | None = None

    @property
    def normalize(self) -> bool:
        return self.options.normalize

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
            f"{self.n_sc_genes - kept} dropped (expressed in < {self.options.min_cell_fraction:.0%} of SC cells)"
        )

    def default_genes(self) -> list[str]:
        """Every SC gene kept by the filter that the ST panel did not measure."""
        measured = self.match.measured_sc
        return [g for g in self.reference.genes if g not in measured]

    def st_size_factors(self, genes: np.ndarray | None = None) -> np.ndarray | None:
        """Library-size factors from the given shared-gene columns (all by default); None without normalisation.

        A part of a slide returns the factors its cells had in the whole slide (all genes).
        """
        if not self.normalize:
            return None
        if self.slide_size_factors is not None:
            if genes is not None:
                raise ValueError("a part of a slide keeps the slide's size factors over all its genes: choose genes before cells")
            return self.slide_size_factors
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
        """The same pair restricted to some ST cells (e.g. a spatial tile), sharing the SC reference.

        The part keeps its cells' library-size factors and cell-basis rows from this pair, so
        a cell is normalised and described the same way whichever part it is in.
        """
        rows = np.asarray(rows)
        spatial = None if self.st_spatial is None else self.st_spatial[rows]
        factors = self.st_size_factors()
        return replace(self, st_obs=self.st_obs.iloc[rows], st_spatial=spatial, st_counts=self.st_counts[rows],
                       slide_size_factors=None if factors is None else factors[rows],
                       cell_basis=None if self.cell_basis is None else self.cell_basis.rows(rows))

    def metacells(self) -> Metacells:
        """The SC metacells over the shared genes (profile rows in :attr:`shared_sc` order)."""
        reference = self.reference
        return Metacells(reference.metacell_profiles_of(self.shared_sc), reference.metacell_sizes, reference.metacell_clusters)

    def make_cell_basis(self, seed: int = 0) -> CellBasis:
        """The :class:`~spaim.cell_basis.CellBasis` of these ST cells, from all shared genes on the model's scale."""
        st_log = self.st_log(np.arange(len(self.shared_st)), self.st_size_factors())
        return build_cell_basis(st_log, self.metacells(), self.st_spatial, seed=seed)

    def with_slide_setup(self, seed: int = 0, cell_basis: bool = True) -> PairedData:
        """The pair with what its parts share made once over all its cells.

        That is the cells' library-size factors and, with ``cell_basis``, the ST cell basis
        (:meth:`make_cell_basis`); :meth:`cells` then slices them.
        """
        data = self
        if data.normalize and data.slide_size_factors is None:
            data = replace(data, slide_size_factors=data.st_size_factors())
        if cell_basis and data.cell_basis is None:
            data = replace(data, cell_basis=data.make_cell_basis(seed))
        return data

    def st_fingerprint(self) -> str:
        """SHA-256 of the ST cell names and shared-gene counts (sparse or dense alike)."""
        counts = sp.csr_matrix(self.st_counts, dtype=np.float32)
        counts.sum_duplicates()
        counts.eliminate_zeros()
        digest = hashlib.sha256(np.asarray(counts.shape, dtype=np.int64).tobytes())
        for part in (counts.indptr.astype(np.int64), counts.indices.astype(np.int64), counts.data):
            digest.update(np.ascontiguousarray(part).tobytes())
        digest.update("\n".join(map(str, self.st_obs.index)).encode())
        return digest.hexdigest()

    def subset(self, genes: np.ndarray) -> PairedData:
        """The same pair restricted to some shared genes (e.g. a fold's training genes)."""
        if self.slide_size_factors is not None or self.cell_basis is not None:
            raise ValueError("the slide-wide size factors and cell basis depend on the genes: choose genes before cells")
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
    options: SetupOptions | None = None,
    *,
    genes: Sequence[str] | None = None,
    reference: SCReference | None = None,
    **setup,
) -> PairedData:
    """Validate ``st`` and ``sc``, match their genes and build the SC reference.

    Every check on the data runs before the SC clustering. Neither object is modified.
    ``st`` may be a SpatialData (its one table is used, see :func:`spaim.sdata.st_table`).

    Parameters
    ----------
    st, sc
        Spatial data and single-cell reference, cells x genes.
    options
        Set-up options; or give them as keyword arguments (``**setup``, the fields of
        :class:`spaim.options.SetupOptions`, with ``random_state`` as an alias of ``seed``).
    genes
        Genes to keep available for imputation even if they fail the SC expression filter.
    reference
        A ready SC reference: skips clustering (used when loading a model).
    """
    options = _options(options, setup)
    st = as_anndata(st)
    check_anndata(st, "ST")
    check_anndata(sc, "SC")
    st_genes, sc_genes = gene_names(st, "ST", options), gene_names(sc, "SC", options)
    st_counts = expression_matrix(st, "ST", options.st_layer, options.allow_non_integer, var_names=st_genes)
    sc_counts = expression_matrix(sc, "SC", options.sc_layer, options.allow_non_integer, var_names=sc_genes)
    match = match_genes(st_genes, sc_genes, case_sensitive=not options.ignore_case)
    st_shared = st_counts[:, st_genes.get_indexer(match.st_names)]
    del st_counts  # one copy of the ST counts at a time
    expressed = drop_unexpressed(match, st_shared)
    if expressed.n_shared < match.n_shared:
        st_shared = st_shared[:, pd.Index(match.st_names).get_indexer(expressed.st_names)]
    match = expressed
    check_shared_genes(match.n_shared)
    check_st_cells(st_shared)
    wanted = check_requested_genes(genes, sc_genes)
    coords = spatial_coordinates(st)
    check_coordinates(coords, st.n_obs)
    if reference is None:
        labels = _labels(sc, options.labels_key)
        check_sc_cells(sc_counts, labels, options.n_clusters)
        # Shared genes without ST counts stay imputable: they are left out of training only.
        reference = build_sc_reference(sc_counts, sc_genes, keep=[*match.sc_names, *match.unexpressed, *wanted], labels=labels, options=options)
    return PairedData(
        st_obs=st.obs.copy(),
        st_spatial=coords,
        st_counts=st_shared,
        match=match,
        reference=reference,
        options=options,
        n_sc_genes=sc.n_vars,
    )


def _options(options: SetupOptions | None, setup: dict) -> SetupOptions:
    if options is None:
        return SetupOptions.from_kwargs(setup, "prepare_pair")
    if setup:
        raise SpaIMInputError(f"prepare_pair() got both options= and {sorted(setup)}: put every set-up option in one place.")
    return options


def _labels(sc: ad.AnnData, labels_key: str | None) -> np.ndarray | None:
    if labels_key is None:
        return None
    if labels_key not in sc.obs:
        raise SpaIMInputError(f"SC has no obs column '{labels_key}' (columns: {list(sc.obs.columns)}): pick one of them or omit labels_key.")
    labels = sc.obs[labels_key]
    if labels.isna().any():
        raise SpaIMInputError(
            f"SC obs column '{labels_key}' has {int(labels.isna().sum())} missing label(s): label or drop those cells first."
        )
    if labels.nunique() < 2:
        raise SpaIMInputError(
            f"SC obs column '{labels_key}' holds a single label ({labels.iloc[0]!r}): every imputed gene would get the same "
            "pattern; give a column with at least two cell types, or omit labels_key to cluster the reference."
        )
    return labels.to_numpy()
