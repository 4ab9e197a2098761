"""All downstream analyses on measured vs imputed data, and the folder of CSVs, PNGs and report.md."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from spaim._markdown import markdown_table
from spaim.downstream import plotting
from spaim.downstream.carry import carried_figures
from spaim.downstream.deg import count_degs, differential_genes
from spaim.downstream.domains import domain_scores, reference_partition
from spaim.downstream.expression import RAW, combine, dense, log_expression
from spaim.downstream.ligrec import compare_pairs, guess_resource, ligand_receptor, shuffled_pairs, spatial_bivariate
from spaim.errors import SpaIMInputError
from spaim.io import atomic_path, write_csv

GROUP_KEY = "downstream_group"


@dataclass
class DownstreamResult:
    """Tables of every analysis; ``data`` holds the analysed log-scale AnnData by name (``raw`` first)."""

    data: dict[str, ad.AnnData]
    partition: str  # how the reference groups were obtained
    resource: str
    pairs: dict[str, pd.DataFrame]
    pairs_summary: pd.DataFrame
    degs: dict[str, pd.DataFrame]
    deg_counts: pd.DataFrame
    domains: pd.DataFrame
    clusters: pd.DataFrame
    settings: dict = field(default_factory=dict)
    carried: tuple[str, ...] = ()  # versions whose tables come from an earlier report (spaim.downstream.carry)
    carried_from: str = ""


def analyse(
    st: ad.AnnData,
    imputed: Mapping[str, ad.AnnData],
    labels_key: str | None = None,
    st_layer: str | None = None,
    normalize: bool = False,
    allow_non_integer: bool = False,
    resource: str = "auto",
    lr_method: str = "spearman",
    lr_pvalue: str = "analytic",
    lr_alpha: float = 0.05,
    min_r: float = 0.1,
    spatial: bool = False,
    deg_alpha: float = 0.05,
    min_log2fc: float = 1.0,
    seed: int = 0,
) -> DownstreamResult:
    """Run L–R, DEG and domain analyses on measured ST data and on each imputed version.

    Parameters
    ----------
    st
        Measured ST data, raw counts (not modified).
    imputed
        ``{method: AnnData}`` of log1p imputed values over the same cells; each is merged
        into the measured data with :func:`~spaim.downstream.expression.combine`. Genes
        imputed beyond the measured panel enter the DEGs (counted apart) but not the L–R
        pairs or the domains, which compare every version on the measured genes.
    normalize
        Library-size normalise the measured counts before ``log1p`` (off: SpaIM's default
        scale, the scale of its imputed values).
    labels_key
        ``st.obs`` column of cell types; without it the reference groups are Leiden
        clusters of the measured counts (:func:`~spaim.downstream.domains.reference_partition`).
    resource, lr_method, lr_pvalue, lr_alpha, min_r
        As for :func:`~spaim.downstream.ligrec.ligand_receptor`.
    spatial
        Add liana's spatial bivariate Moran's R to the L–R tables.
    deg_alpha, min_log2fc
        As ``alpha`` and ``min_log2fc`` of :func:`~spaim.downstream.deg.differential_genes`.
    """
    if RAW in imputed:
        raise SpaIMInputError(f"'{RAW}' names the measured data: give the imputed versions other names.")
    raw = log_expression(st, st_layer, normalize, allow_non_integer)
    groups, partition = _groups(st, labels_key, st_layer, allow_non_integer, seed)
    raw.obs[GROUP_KEY] = pd.Categorical(groups)
    data = {RAW: raw, **{name: combine(raw, version) for name, version in imputed.items()}}
    # L-R pairs and domains are compared on the measured genes alone, the same genes in every
    # version: a method that also imputes genes beyond the panel would otherwise be tested and
    # clustered on a larger gene set than the measured data and the other methods.
    panel = {name: a[:, a.var_names.isin(raw.var_names)] for name, a in data.items()}
    resource = guess_resource(raw.var_names) if resource == "auto" else resource
    pairs = {name: _pairs(a, resource, lr_method, lr_pvalue, lr_alpha, min_r, spatial, seed) for name, a in panel.items()}
    summary = compare_pairs(pairs, RAW)
    summary["shuffled_significant_fraction"] = [
        _background(a, pairs[name], lr_method, lr_pvalue, lr_alpha, min_r, seed) for name, a in panel.items()
    ]
    degs = {name: _degs(a, deg_alpha, min_log2fc) for name, a in data.items()}
    domains, clusters = domain_scores(panel, groups, seed=seed)
    settings = dict(labels_key=labels_key, normalize=normalize, lr_method=lr_method, lr_pvalue=lr_pvalue, lr_alpha=lr_alpha, min_r=min_r,
                    deg_alpha=deg_alpha, min_log2fc=min_log2fc, seed=seed)
    return DownstreamResult(
        data, partition, resource, pairs, summary, degs, count_degs(degs), domains, clusters, settings
    )


def _groups(st: ad.AnnData, labels_key: str | None, layer: str | None, allow_non_integer: bool, seed: int) -> tuple[np.ndarray, str]:
    if labels_key is not None:
        if labels_key not in st.obs:
            raise SpaIMInputError(f"ST has no obs column '{labels_key}' (columns: {list(st.obs.columns)}): pick one or omit it.")
        return st.obs[labels_key].astype(str).to_numpy(), f"cell-type labels from ST obs['{labels_key}']"
    partition = reference_partition(st, layer, allow_non_integer, seed)
    return partition, "Leiden clusters (resolution 1) of the measured ST counts, as no cell-type labels were given"


def _degs(adata: ad.AnnData, alpha: float, min_log2fc: float) -> pd.DataFrame:
    table = differential_genes(adata, GROUP_KEY, alpha, min_log2fc)
    return table.assign(gene_measured=adata.var.loc[table["gene"], "measured"].to_numpy())


def _background(adata, tested: pd.DataFrame, method, pvalue, alpha, min_r, seed) -> float:
    """Share of shuffled (unlisted) ligand–receptor combinations found significant: the null rate."""
    if tested.empty:
        return float("nan")
    null = ligand_receptor(adata, shuffled_pairs(tested, seed=seed), method, pvalue, alpha=alpha, min_r=min_r, seed=seed)
    return float(null["significant"].mean()) if len(null) else float("nan")


def _pairs(adata, resource, method, pvalue, alpha, min_r, spatial, seed) -> pd.DataFrame:
    table = ligand_receptor(adata, resource, method, pvalue, alpha=alpha, min_r=min_r, seed=seed)
    if spatial and len(table):
        table = table.merge(spatial_bivariate(adata, resource, seed=seed), on=["ligand", "receptor"], how="left")
    return table


def write_report(
    result: DownstreamResult,
    out: str | os.PathLike,
    title: str = "Downstream analyses",
    map_genes: Sequence[str] | None = None,
    force: bool = False,
) -> Path:
    """Write CSVs, PNGs and ``report.md`` for ``result`` into folder ``out``.

    Parameters
    ----------
    map_genes
        Genes for the measured vs imputed maps; default the four most variable measured
        genes that the first imputed version predicts.
    force
        Write into an existing non-empty folder, overwriting its files.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise SpaIMInputError(f"output folder '{out}' is not empty: choose another or pass --force.")
    out.mkdir(parents=True, exist_ok=True)
    tables = {"lr_summary": result.pairs_summary, "deg_counts": result.deg_counts, "domains_ari": result.domains,
              "domains_clusters": result.clusters.reset_index(names="cell")}
    # Full DEG tables are genes x groups (megabytes for wide imputations): the folder keeps the DEGs.
    tables |= {f"lr_pairs_{n}": t for n, t in result.pairs.items()} | {f"deg_{n}": t[t["significant"]] for n, t in result.degs.items()}
    for name, table in tables.items():
        write_csv(table, out / f"{name}.csv", force=True)
    figures = _figures(result, out, map_genes)
    with atomic_path(out / "report.md", force=True) as tmp:
        tmp.write_text(_markdown(result, title, figures))
    return out


def _figures(result: DownstreamResult, out: Path, map_genes: Sequence[str] | None) -> list[tuple[str, str]]:
    raw = result.data[RAW]
    others = {n: t for n, t in result.pairs.items() if n != RAW}
    figures = [("L–R association strength, raw vs imputed", "lr_scatter.png"), ("DEGs per group", "deg_counts.png"),
               ("Spatial domains", "domains.png")]
    plotting.pairs_scatter(result.pairs[RAW], others, RAW, save=out / "lr_scatter.png")
    plotting.deg_bars(result.deg_counts, save=out / "deg_counts.png")
    plotting.domain_maps(raw, result.clusters, result.domains, save=out / "domains.png")
    for name in result.pairs:  # every version, in the report's order
        if name == RAW:
            continue
        maps, umap = f"maps_{name}.png", f"umap_{name}.png"
        if name in result.carried:
            drawn = carried_figures(result, name, out)  # the earlier report's files
        else:
            adata, drawn = result.data[name], set()
            genes = list(map_genes) if map_genes else _variable_predicted(raw, adata)
            if genes:
                plotting.expression_maps(raw, adata, genes, save=out / maps)
                drawn.add(maps)
            markers = _imputed_markers(result.degs[name], adata)
            if markers:
                plotting.marker_umap(adata, markers, seed=result.settings["seed"], save=out / umap)
                drawn.add(umap)
        if maps in drawn:
            figures.append((f"Measured vs {name}-imputed expression", maps))
        if umap in drawn:
            figures.append((f"UMAP of {name}-imputed data, coloured by the top-ranked imputed marker of each group", umap))
    return figures


def _variable_predicted(raw: ad.AnnData, adata: ad.AnnData, n: int = 4) -> list[str]:
    predicted = adata.var_names[adata.var["imputed"].to_numpy() & adata.var["measured"].to_numpy()]
    if not len(predicted):
        return []
    variance = pd.Series(dense(raw[:, predicted]).var(axis=0), index=predicted)
    return list(variance.sort_values(ascending=False, kind="stable").index[:n])


def _imputed_markers(degs: pd.DataFrame, adata: ad.AnnData, n: int = 4) -> list[str]:
    """The top-ranked imputed gene of each group (significant ones first), for up to ``n`` groups."""
    imputed = set(adata.var_names[adata.var["imputed"].to_numpy()])
    ranked = degs[degs["gene"].isin(imputed)].sort_values(["significant", "score"], ascending=False, kind="stable")
    return list(dict.fromkeys(ranked.drop_duplicates("group")["gene"]))[:n]


def _markdown(result: DownstreamResult, title: str, figures: list[tuple[str, str]]) -> str:
    s = result.settings
    shapes = ", ".join(f"{n}: {a.n_vars} genes ({int(a.var['imputed'].sum()) if 'imputed' in a.var else 0} imputed)"
                       for n, a in result.data.items())
    lines = [
        f"# {title}", "",
        f"{result.data[RAW].n_obs} cells/spots; {shapes}.", "",
        *([f"Carried from `{result.carried_from}` (an earlier report of the same cells, reference groups and measured-data "
           f"results; not analysed again here, their tables and figures as it made them): {', '.join(result.carried)}.", ""]
          if result.carried else []),
        "Imputed versions are the measured data with the imputed genes merged in (imputed values replace "
        "measured ones for the genes a method predicts). All values are log1p"
        f"{' of library-size normalised counts for the measured genes' if s['normalize'] else ' of counts'}.", "",
        f"Reference groups (DEG groups, ARI labels): {result.partition}.", "",
        "## Ligand–receptor pairs", "",
        f"On the measured genes only (the same genes in every version). liana resource `{result.resource}`; "
        f"{s['lr_method']} correlation across cells, {s['lr_pvalue']} p-values, "
        f"Benjamini–Hochberg FDR < {s['lr_alpha']} and r >= {s['min_r']}. "
        "`n_significant_in_both`: significant on raw and on that version. `shuffled_significant_fraction`: share of "
        "up to 500 ligand–receptor combinations the resource does not list (same genes) that pass the same test: "
        "the background rate a pair count should be read against.", "",
        markdown_table(result.pairs_summary), "",
        "## Differentially expressed genes per group", "",
        f"scanpy Wilcoxon vs rest, BH-adjusted p < {s['deg_alpha']}, log2 fold change > {s['min_log2fc']} "
        "(log2 of mean linear expression, group vs rest, pseudocount 1). `deg_<data>.csv` lists the DEGs.", "",
        markdown_table(result.deg_counts), "",
        markdown_table(_deg_split(result.degs)), "",
        "## Spatial domains", "",
        "On the measured genes only (the same genes in every version): "
        "scale, PCA, kNN graph, Leiden with the resolution searched to give as many clusters as reference groups; "
        "adjusted Rand index against the reference groups.", "",
        markdown_table(result.domains), "",
        "## Figures", "",
        *[f"### {caption}\n\n![{caption}]({path})\n" for caption, path in figures],
    ]
    return "\n".join(lines) + "\n"


def _deg_split(degs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """DEGs in total and split by whether the gene is in the measured panel."""
    rows = [{"data": n, "degs": int(t["significant"].sum()), "on panel genes": int((t["significant"] & t["gene_measured"]).sum()),
             "on new genes": int((t["significant"] & ~t["gene_measured"]).sum())} for n, t in degs.items()]
    return pd.DataFrame(rows)
