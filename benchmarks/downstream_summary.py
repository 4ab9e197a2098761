"""Collect the per-dataset downstream reports into docs/downstream/report.md.

Usage: python benchmarks/downstream_summary.py DOCS_DIR DATASET [DATASET ...]  (see run_downstream.sh)
"""

import sys
from pathlib import Path

import pandas as pd

from spaim._markdown import markdown_table


def summary(docs: Path, names: list[str]) -> str:
    pairs, degs, ari = [], [], []
    for name in names:
        folder = docs / name
        lr = pd.read_csv(folder / "lr_summary.csv")
        pairs.append(lr.assign(dataset=name)[["dataset", "data", "n_tested", "n_significant", "n_significant_in_both", "r_correlation",
                                            "shuffled_significant_fraction"]])
        counts = pd.read_csv(folder / "deg_counts.csv").set_index("group")
        degs.append(pd.DataFrame({"dataset": name, "data": counts.columns, "degs_total": counts.sum().to_numpy(),
                                  "groups": len(counts), "median_per_group": counts.median().to_numpy()}))
        ari.append(pd.read_csv(folder / "domains_ari.csv").assign(dataset=name)[["dataset", "data", "n_clusters", "ari"]])
    header = (docs / "HEADER.md").read_text() if (docs / "HEADER.md").exists() else "# Downstream analyses on the real datasets\n"
    sections = [
        header,
        "## Ligand–receptor pairs (significant: BH FDR < 0.05 and Spearman r >= 0.1)\n",
        markdown_table(pd.concat(pairs, ignore_index=True)),
        "\n## DEGs per cell type / reference group (BH-adjusted p < 0.05, log2FC > 1)\n",
        markdown_table(pd.concat(degs, ignore_index=True)),
        "\n## Spatial domains: ARI against the reference groups\n",
        markdown_table(pd.concat(ari, ignore_index=True)),
        "\n## Per-dataset reports\n",
        *[f"- [{name}]({name}/report.md)" for name in names],
    ]
    return "\n".join(sections) + "\n"


if __name__ == "__main__":
    docs = Path(sys.argv[1])
    (docs / "report.md").write_text(summary(docs, sys.argv[2:]))
