import matplotlib.image as mpimg

from spaim.benchmark.plots import metric_boxplots, representative_genes, save, spatial_maps
from spaim.benchmark.report import per_gene_table


def test_figures_are_written(run, tmp_path):
    result = run[2]
    per_gene = per_gene_table([result])
    box = save(metric_boxplots(per_gene, "merfish"), tmp_path / "box.png")
    assert mpimg.imread(box).shape[1] > 600
    maps = save(spatial_maps(result, per_gene, peer=None, method="knn"), tmp_path / "maps.png")
    assert mpimg.imread(maps).shape[0] > mpimg.imread(maps).shape[1]  # three gene rows, two columns
    assert spatial_maps(result, per_gene, peer=None, method="spage") is None  # a failed method has no maps


def test_representative_genes_are_best_median_worst_by_pcc_then_markers(run):
    per_gene = per_gene_table([run[2]])
    normalized = per_gene[per_gene["scoring"] == "normalized"]
    picks = representative_genes(per_gene, "merfish", "knn", markers=("Aqp4", "NotAGene"))
    pcc = normalized.set_index("gene")["pcc"]
    assert pcc[picks["best"]] == pcc.max() and pcc[picks["worst"]] == pcc.min()
    assert pcc[picks["worst"]] <= pcc[picks["median"]] <= pcc[picks["best"]]
    assert picks["marker Aqp4"] == "Aqp4" and len(picks) == 4
