"""Differentially expressed genes of each cell type against all other cells."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

from spaim.downstream.expression import dense
from spaim.errors import SpaIMInputError

#: Groups smaller than this are skipped: a rank test on one or two cells means nothing.
MIN_GROUP_SIZE = 3


def log2_fold_change(linear: np.ndarray, in_group: np.ndarray, pseudocount: float = 1.0) -> np.ndarray:
    """Per-gene log2 fold change of a group vs all other cells, of mean linear expression.

    ``log2((mean(expm1(x_group)) + 1) / (mean(expm1(x_rest)) + 1))`` for ``log1p`` values
    ``x`` (Seurat's definition). scanpy's ``logfoldchanges`` instead takes ``expm1`` of
    the mean *log* value with a 1e-9 pseudocount, which is unbounded for genes silent
    outside the group; we pin our own so results do not move with either package.

    Parameters
    ----------
    linear
        Cells x genes, ``expm1`` of the log1p values.
    in_group
        Boolean mask of the group's cells.
    pseudocount
        Added to both means before the ratio.
    """
    inside, outside = linear[in_group].mean(axis=0), linear[~in_group].mean(axis=0)
    return np.log2((inside + pseudocount) / (outside + pseudocount))


def differential_genes(
    adata: ad.AnnData,
    groupby: str,
    alpha: float = 0.05,
    min_log2fc: float = 1.0,
) -> pd.DataFrame:
    """Wilcoxon rank-sum DEGs of each group vs all other cells (scanpy ``rank_genes_groups``).

    Parameters
    ----------
    adata
        Cells x genes, ``log1p`` expression in ``X`` (raw or imputed); not modified.
    groupby
        ``obs`` column with the groups (cell types or clusters).
    alpha
        Threshold on the Benjamini–Hochberg adjusted p-value.
    min_log2fc
        A DEG needs a log2 fold change above this (see :func:`log2_fold_change`
        for the definition).

    Returns
    -------
    One row per group and gene: ``group, gene, score, log2fc, pval, pval_adj,
    significant``; groups with fewer than :data:`MIN_GROUP_SIZE` cells are left out.
    """
    if groupby not in adata.obs:
        raise SpaIMInputError(f"no obs column '{groupby}' (columns: {list(adata.obs.columns)}): pass the labels column.")
    labels = adata.obs[groupby].astype(str)
    sizes = labels.value_counts()
    groups = sorted(sizes.index[sizes >= MIN_GROUP_SIZE])
    if len(groups) < 2:
        raise SpaIMInputError(f"'{groupby}' has fewer than 2 groups of at least {MIN_GROUP_SIZE} cells: DEGs need groups to compare.")
    obs = pd.DataFrame({"group": pd.Categorical(labels)}, index=adata.obs_names)
    work = ad.AnnData(X=dense(adata), obs=obs, var=pd.DataFrame(index=adata.var_names))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc.tl.rank_genes_groups(
            work, "group", groups=groups, reference="rest", method="wilcoxon", corr_method="benjamini-hochberg", use_raw=False
        )
    linear = np.expm1(work.X)
    tables = [_group_table(work, g, log2_fold_change(linear, labels.to_numpy() == g)) for g in groups]
    out = pd.concat(tables, ignore_index=True)
    out["significant"] = (out["pval_adj"] < alpha) & (out["log2fc"] > min_log2fc)
    return out


def _group_table(work: ad.AnnData, group: str, log2fc: np.ndarray) -> pd.DataFrame:
    ranked = sc.get.rank_genes_groups_df(work, group=group)
    fold = pd.Series(log2fc, index=work.var_names)
    return pd.DataFrame({
        "group": group,
        "gene": ranked["names"].to_numpy(),
        "score": ranked["scores"].to_numpy(),
        "log2fc": fold.loc[ranked["names"]].to_numpy(),
        "pval": ranked["pvals"].to_numpy(),
        "pval_adj": ranked["pvals_adj"].to_numpy(),
    })


def count_degs(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """DEGs per group (rows) for each dataset (columns), from :func:`differential_genes` tables."""
    counts = {name: t[t["significant"]].groupby("group").size() for name, t in tables.items()}
    groups = sorted(set().union(*(t["group"].unique() for t in tables.values())))
    out = pd.DataFrame(counts).reindex(groups).fillna(0).astype(int)
    out.index.name = "group"
    return out.reset_index()
