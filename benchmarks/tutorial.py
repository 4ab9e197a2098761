"""Regenerate docs/tutorial.md: from a SpatialData object to imputed genes, plots and a downstream analysis.

Usage: python benchmarks/tutorial.py
Every code block on the page is the code this script runs (the STEPS below), so the page
and the figures cannot drift apart. Uses the bundled Visium lymph node pair, the one
bundled dataset whose reference has many genes the ST panel lacks.
"""

import textwrap
import time
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
OUT = DOCS / "tutorial"

STEPS = [
    ("Build a SpatialData object",
     "A Visium, Xenium, CosMx or MERSCOPE output read with `spatialdata-io` has this shape: a table of counts "
     "annotating a shapes element (spots or cells). Here we build one from the bundled Visium lymph node data "
     "and write it to a `.zarr` store, as a vendor reader would.",
     '''
import numpy as np
import anndata as ad
import spatialdata as sd
from spatialdata.models import ShapesModel, TableModel
import spaim
from spaim import datasets, downstream

st, sc = datasets.load("visium_lymphnode")
spots = ShapesModel.parse(st.obsm["spatial"], geometry=0, radius=np.full(st.n_obs, 50.0), index=np.arange(st.n_obs))
table = ad.AnnData(X=st.X, obs=st.obs[[]].assign(region="spots", spot_id=np.arange(st.n_obs)), var=st.var[[]])
table = TableModel.parse(table, region="spots", region_key="region", instance_key="spot_id")
sd.SpatialData(shapes={"spots": spots}, tables={"table": table}).write(store)
sdata = sd.read_zarr(store)
'''),
    ("Train SpaIM on it",
     "`SpaIM` takes the SpatialData directly: it reads the table and each spot's centroid. The reference is "
     "clustered once (here by its cell-type labels).",
     '''
model = spaim.SpaIM(sdata, sc, labels_key="cell_type", seed=0)
model.train(progress=False)
spaim.pl.history(model, save=OUT / "history.png")
'''),
    ("How good is it on this panel?",
     "Cross-validation over the panel: each measured gene is held out once and predicted from the reference alone. "
     "With the default `normalize=True` both sides are library-size normalised before `log1p`, so the scores measure "
     "each gene's pattern beyond the spots' total counts.",
     '''
scores, held_out = spaim.cross_validate(sdata, sc, folds=5, seed=0, labels_key="cell_type", return_predictions=True)
spaim.pl.cv_scores(scores, save=OUT / "cv_scores.png")
best = scores.sort_values("pcc", ascending=False)["gene"].head(3).tolist()
measured = downstream.log_expression(st)
spaim.pl.measured_vs_imputed(measured, held_out, best, save=OUT / "measured_vs_imputed.png")
'''),
    ("Impute the genes the panel lacks, and add them back",
     "The imputed genes come back as a new AnnData over the same spots, which goes back into the SpatialData as "
     "a table annotating the same spots.",
     '''
imputed = model.impute()
spaim.sdata.add_table(sdata, imputed, key="spaim_imputed")
sdata.write_element("spaim_imputed")
variable = imputed.var_names[np.argsort(-imputed.X.var(axis=0))[:4]].tolist()
spaim.pl.spatial(imputed, variable, ncols=4, save=OUT / "imputed.png")
'''),
    ("A downstream analysis: spatial domains with and without the imputed genes",
     "Spots are clustered into domains on the measured panel alone (the reference partition) and on the panel "
     "plus the imputed genes; the adjusted Rand index tells how far the imputed genes move the domains, and the "
     "DEGs of each domain now include imputed genes.",
     '''
from spaim.downstream.plotting import domain_maps

combined = downstream.combine(measured, imputed)
labels = downstream.cluster_cells(measured, n_clusters=6, seed=0)
ari, domains = downstream.domain_scores({"measured + imputed": combined}, labels, seed=0)
domain_maps(measured, domains, ari, save=OUT / "domains.png")
combined.obs["domain"] = domains["measured + imputed"].to_numpy()
degs = downstream.differential_genes(combined, "domain")
degs["imputed"] = combined.var["imputed"].reindex(degs["gene"]).to_numpy()
significant = degs[degs["significant"]].groupby("imputed").size()
top = degs[degs["imputed"]].sort_values("score", ascending=False).groupby("group").head(2)
'''),
]


def main() -> None:
    warnings.simplefilter("ignore")
    OUT.mkdir(parents=True, exist_ok=True)
    namespace = {"OUT": OUT, "store": OUT / "lymphnode.zarr"}
    import shutil

    shutil.rmtree(namespace["store"], ignore_errors=True)
    timings = []
    for title, _, code in STEPS:
        start = time.perf_counter()
        exec(textwrap.dedent(code), namespace)
        timings.append(time.perf_counter() - start)
        print(f"{title}: {timings[-1]:.0f} s", flush=True)
    shutil.rmtree(namespace["store"], ignore_errors=True)  # the store is rebuilt by the page's code; not kept in docs
    _write_page(namespace, timings)


def _write_page(ns: dict, timings: list[float]) -> None:
    from spaim._markdown import markdown_table
    from spaim.io import atomic_path

    scores, model, imputed = ns["scores"], ns["model"], ns["imputed"]
    figures = {
        "Train SpaIM on it": ["history.png"],
        "How good is it on this panel?": ["cv_scores.png", "measured_vs_imputed.png"],
        "Impute the genes the panel lacks, and add them back": ["imputed.png"],
        "A downstream analysis: spatial domains with and without the imputed genes": ["domains.png"],
    }
    results = {
        "Train SpaIM on it": f"`{model!r}`; {len(model.history)} epochs.",
        "How good is it on this panel?": (
            f"Median over {len(scores)} held-out genes: PCC {scores['pcc'].median():.3f}, SSIM {scores['ssim'].median():.3f}, "
            f"RMSE {scores['rmse'].median():.3f}, JS {scores['js'].median():.3f}. Best genes: {', '.join(ns['best'])}."
        ),
        "Impute the genes the panel lacks, and add them back": (
            f"{imputed.n_vars} genes imputed over {imputed.n_obs} spots; tables now: {list(ns['sdata'].tables)}."
        ),
        "A downstream analysis: spatial domains with and without the imputed genes": (
            "Agreement with the domains of the measured panel alone (ARI):\n\n" + markdown_table(ns["ari"])
            + f"\n\nSignificant DEGs (adjusted p < 0.05, log2FC > 1): {int(ns['significant'].get(False, 0))} measured genes, "
            + f"{int(ns['significant'].get(True, 0))} imputed genes. Top-ranked imputed genes per domain:\n\n"
            + markdown_table(ns["top"][["group", "gene", "score", "log2fc", "pval_adj", "significant"]].sort_values(["group", "score"], ascending=[True, False]))
        ),
    }
    parts = [
        "# Tutorial: from a SpatialData object to imputed genes, plots and a downstream analysis\n",
        "Generated by `python benchmarks/tutorial.py` (needs `pip install 'spaim[spatialdata,downstream]'`); every code "
        "block below is what the script ran, and every number and figure is its output. Run time on the shared 2-core "
        f"machine: {sum(timings):.0f} s in all.\n",
    ]
    for (title, text, code), seconds in zip(STEPS, timings):
        parts.append(f"## {title}\n\n{text}\n\n```python{textwrap.dedent(code)}```\n")
        if title in results:
            parts.append(results[title] + "\n")
        for png in figures.get(title, []):
            parts.append(f"![{png[:-4]}](tutorial/{png})\n")
        parts.append(f"*({seconds:.0f} s)*\n")
    with atomic_path(DOCS / "tutorial.md", force=True) as tmp:
        tmp.write_text("\n".join(parts))


if __name__ == "__main__":
    main()
