"""Ligand–receptor pairs whose two genes are co-expressed across cells or spots.

Pairs come from a curated resource shipped inside the ``liana`` package (read from its
own files, no network). A complex ligand or receptor (subunits joined by ``_``, liana's
convention) is scored by the minimum of its subunits in each cell, as liana does.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import product

import anndata as ad
import numpy as np
import pandas as pd
from scipy import stats

from spaim.downstream.expression import dense
from spaim.errors import SpaIMInputError

COMPLEX_SEP = "_"
#: liana resources used when ``resource="auto"``: human symbols vs mouse symbols.
HUMAN_RESOURCE, MOUSE_RESOURCE = "consensus", "mouseconsensus"


def load_resource(name: str) -> pd.DataFrame:
    """Ligand–receptor pairs of one of liana's packaged resources (``ligand``, ``receptor`` columns).

    Parameters
    ----------
    name
        A liana resource name, e.g. ``"consensus"`` (human) or ``"mouseconsensus"``.
    """
    try:
        from liana.resource import select_resource
    except ImportError:
        raise SpaIMInputError(
            "ligand–receptor analysis needs the 'liana' package: pip install 'spaim[downstream]'."
        ) from None
    try:
        table = select_resource(name)
    except ValueError as exc:
        raise SpaIMInputError(f"unknown ligand–receptor resource '{name}' ({exc}).") from None
    return table[["ligand", "receptor"]].drop_duplicates().reset_index(drop=True)


def guess_resource(genes: pd.Index) -> str:
    """``"mouseconsensus"`` when most gene symbols are mouse-style (``Gad2``), else ``"consensus"``."""
    symbols = [g for g in map(str, genes) if g[:1].isalpha() and g[1:].isalpha()]
    mouse = sum(g[:1].isupper() and g[1:].islower() for g in symbols)
    return MOUSE_RESOURCE if symbols and mouse > len(symbols) / 2 else HUMAN_RESOURCE


def present_pairs(resource: pd.DataFrame, genes: pd.Index) -> pd.DataFrame:
    """The resource's pairs whose every ligand and receptor subunit is a gene of ``genes``."""
    present = set(map(str, genes))

    def ok(entity: str) -> bool:
        return all(g in present for g in entity.split(COMPLEX_SEP))

    mask = resource["ligand"].map(ok) & resource["receptor"].map(ok)
    return resource.loc[mask, ["ligand", "receptor"]].reset_index(drop=True)


def ligand_receptor(
    adata: ad.AnnData,
    resource: str | pd.DataFrame = "auto",
    method: str = "spearman",
    pvalue: str = "analytic",
    n_perms: int = 1000,
    alpha: float = 0.05,
    min_r: float = 0.1,
    seed: int = 0,
) -> pd.DataFrame:
    """Score every ligand–receptor pair of ``resource`` present in ``adata`` by co-expression.

    Parameters
    ----------
    adata
        Cells x genes, log-scale expression in ``X`` (raw or imputed); not modified.
    resource
        A liana resource name, ``"auto"`` (:func:`guess_resource`) or a table with
        ``ligand`` and ``receptor`` columns.
    method
        ``"spearman"`` or ``"pearson"`` correlation across cells.
    pvalue
        ``"analytic"`` (t-distribution with ``n - 2`` degrees of freedom) or
        ``"permutation"`` (cells of the receptor shuffled ``n_perms`` times, two-sided).
    alpha
        Significance threshold on the Benjamini–Hochberg FDR.
    min_r
        Minimal correlation of a significant pair: with thousands of spots tiny
        correlations are "significant", and only positive co-expression supports signalling.
    seed
        Seeds the permutations.

    Returns
    -------
    One row per testable pair: ``ligand, receptor, r, pval, fdr, significant``, sorted by
    decreasing ``r``.
    """
    if method not in ("spearman", "pearson"):
        raise SpaIMInputError(f"method '{method}' is unknown: use 'spearman' or 'pearson'.")
    if pvalue not in ("analytic", "permutation"):
        raise SpaIMInputError(f"pvalue '{pvalue}' is unknown: use 'analytic' or 'permutation'.")
    table = _resource_table(resource, adata.var_names)
    pairs = present_pairs(table, adata.var_names)
    if pairs.empty:
        return pairs.assign(r=np.float64(0), pval=np.float64(1), fdr=np.float64(1), significant=False)
    lig, rec = _standardized(adata, pairs["ligand"], method), _standardized(adata, pairs["receptor"], method)
    r = (lig * rec).sum(axis=0)
    if pvalue == "analytic":
        pval = _analytic_pvalue(r, adata.n_obs)
    else:
        pval = _permutation_pvalue(lig, rec, r, n_perms, seed)
    fdr = stats.false_discovery_control(pval, method="bh")
    out = pairs.assign(r=r, pval=pval, fdr=fdr, significant=(fdr < alpha) & (r >= min_r))
    return out.sort_values("r", ascending=False, kind="stable").reset_index(drop=True)


def _resource_table(resource: str | pd.DataFrame, genes: pd.Index) -> pd.DataFrame:
    if isinstance(resource, pd.DataFrame):
        if not {"ligand", "receptor"} <= set(resource.columns):
            raise SpaIMInputError("the resource table needs 'ligand' and 'receptor' columns.")
        return resource
    return load_resource(guess_resource(genes) if resource == "auto" else resource)


def _standardized(adata: ad.AnnData, entities: pd.Series, method: str) -> np.ndarray:
    """Cells x entities, ranked for Spearman, centred and scaled so a column dot product is r."""
    genes = sorted({g for e in entities for g in e.split(COMPLEX_SEP)})
    x = dense(adata[:, genes])
    col = {g: j for j, g in enumerate(genes)}
    values = np.stack([x[:, [col[g] for g in e.split(COMPLEX_SEP)]].min(axis=1) for e in entities], axis=1)
    if method == "spearman":
        values = stats.rankdata(values, axis=0)
    values = values - values.mean(axis=0)
    norm = np.sqrt((values**2).sum(axis=0))
    # A constant gene has no association: a zero column gives r = 0 and p = 1.
    return np.divide(values, norm, out=np.zeros_like(values), where=norm > 0)


def _analytic_pvalue(r: np.ndarray, n: int) -> np.ndarray:
    if n < 3:
        return np.ones_like(r)
    r = np.clip(r, -1 + 1e-12, 1 - 1e-12)
    t = r * np.sqrt((n - 2) / (1 - r**2))
    return 2 * stats.t.sf(np.abs(t), n - 2)


def _permutation_pvalue(lig: np.ndarray, rec: np.ndarray, r: np.ndarray, n_perms: int, seed: int) -> np.ndarray:
    if n_perms < 1:
        raise SpaIMInputError(f"n_perms={n_perms} must be at least 1: use e.g. 1000.")
    rng = np.random.default_rng(seed)
    exceed = np.zeros_like(r)
    for _ in range(n_perms):
        null = (lig * rec[rng.permutation(rec.shape[0])]).sum(axis=0)
        exceed += np.abs(null) >= np.abs(r) - 1e-12
    return (exceed + 1) / (n_perms + 1)


def spatial_bivariate(
    adata: ad.AnnData,
    resource: str | pd.DataFrame = "auto",
    bandwidth: float | None = None,
    n_perms: int = 100,
    seed: int = 0,
) -> pd.DataFrame:
    """liana's global spatial bivariate Moran's R of every testable pair.

    Parameters
    ----------
    adata
        Log-scale expression with coordinates in ``obsm["spatial"]``; not modified.
    resource
        As for :func:`ligand_receptor`.
    bandwidth
        Gaussian kernel bandwidth in coordinate units; default five times the median
        distance to the nearest cell (ours: a neighbourhood of a few cells).
    n_perms
        Permutations for Moran's R p-values (0: none).

    Returns
    -------
    One row per pair liana scored: ``ligand, receptor, morans, morans_pval``.
    """
    try:
        import liana
    except ImportError:
        raise SpaIMInputError("spatial bivariate scores need the 'liana' package: pip install 'spaim[downstream]'.") from None
    if "spatial" not in adata.obsm:
        raise SpaIMInputError("spatial bivariate scores need coordinates in obsm['spatial'].")
    work = ad.AnnData(X=dense(adata), obs=pd.DataFrame(index=adata.obs_names), var=pd.DataFrame(index=adata.var_names))
    work.obsm["spatial"] = np.asarray(adata.obsm["spatial"], dtype=np.float64)
    bandwidth = bandwidth or 5 * _nearest_distance(work.obsm["spatial"])
    liana.ut.spatial_neighbors(work, bandwidth=bandwidth, cutoff=0.1, max_neighbours=min(100, work.n_obs - 1))
    scores = liana.mt.bivariate(
        work, resource=_resource_table(resource, adata.var_names), local_name=None, global_name="morans",
        n_perms=n_perms or None, seed=seed, nz_prop=0.0, use_raw=False, verbose=False,
    )
    return scores.rename(columns={"morans_pvals": "morans_pval"})[["ligand", "receptor", "morans", "morans_pval"]].reset_index(drop=True)


def _nearest_distance(coords: np.ndarray) -> float:
    from sklearn.neighbors import NearestNeighbors

    distances, _ = NearestNeighbors(n_neighbors=2).fit(coords).kneighbors(coords)
    return float(np.median(distances[:, 1])) or 1.0


def shuffled_pairs(pairs: pd.DataFrame, n_pairs: int = 500, seed: int = 0) -> pd.DataFrame:
    """A null set: ligands and receptors of ``pairs`` recombined into pairs that ``pairs`` does not list.

    The share of these that come out significant is the background rate of an expression
    matrix: imputed genes generated from a few SC cluster profiles correlate broadly, so a
    count of significant L–R pairs means something only against this rate.
    """
    listed = set(zip(pairs["ligand"], pairs["receptor"], strict=True))
    candidates = [(lig, rec) for lig, rec in product(pairs["ligand"].unique(), pairs["receptor"].unique())
                  if lig != rec and (lig, rec) not in listed]
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(candidates), size=min(n_pairs, len(candidates)), replace=False))
    return pd.DataFrame([candidates[i] for i in chosen], columns=["ligand", "receptor"])


def compare_pairs(tables: Mapping[str, pd.DataFrame], reference: str = "raw") -> pd.DataFrame:
    """Pairs tested and found per dataset, and how many agree with ``reference``.

    Parameters
    ----------
    tables
        ``{name: ligand_receptor(...) table}``, including ``reference``.

    Returns
    -------
    One row per dataset: ``data, n_tested, n_significant, n_tested_in_both,
    n_significant_in_both, r_correlation`` (Pearson correlation of ``r`` with the
    reference over the pairs tested in both).
    """
    if reference not in tables:
        raise SpaIMInputError(f"reference '{reference}' is not among the tables {list(tables)}.")
    rows = []
    for name, table in tables.items():
        both = paired_scores(tables[reference], table)
        rows.append({
            "data": name,
            "n_tested": len(table),
            "n_significant": int(table["significant"].sum()),
            "n_tested_in_both": len(both),
            "n_significant_in_both": int((both["significant_x"] & both["significant_y"]).sum()),
            "r_correlation": both["r_x"].corr(both["r_y"]) if len(both) > 2 else np.nan,
        })
    return pd.DataFrame(rows)


def paired_scores(reference: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Pairs tested in both tables with ``r`` and ``significant`` of each (suffix ``_x``: reference, ``_y``: other)."""
    columns = ["ligand", "receptor", "r", "significant"]
    return reference[columns].merge(other[columns], on=["ligand", "receptor"])
