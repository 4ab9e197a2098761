"""Versions that a downstream run does not analyse again, carried from an earlier report of the same data.

The benchmark's peers reach ``spaim downstream`` through the benchmark's per-fold cache,
which lives outside the repository and takes hours to remake. An earlier report's folder
keeps every table that compares a version with the measured data (L–R pairs and their
summary, significant DEGs, domain labels and ARI), so ``spaim downstream --carry DIR``
analyses the versions it is given and takes the others' tables from ``DIR``, after checking
that ``DIR`` analysed the same cells in the same reference groups with the same outcome on
the measured data. Their per-version figures are the earlier files.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from spaim.downstream.deg import count_degs
from spaim.downstream.expression import RAW
from spaim.errors import SpaIMInputError

#: Per-version figures of an earlier report that a carried version keeps.
VERSION_FIGURES = ("maps_{}.png", "umap_{}.png")


def check_folder(folder: str | Path) -> None:
    """Fail at once, before any analysis, where ``folder`` is no earlier report."""
    for name in ("lr_summary.csv", "domains_ari.csv", "domains_clusters.csv"):
        _read(Path(folder), name, nrows=1)


def carry_versions(result, folder: str | Path):
    """``result`` with every version of the report in ``folder`` that it lacks, in ``folder``'s order.

    ``result`` is a :class:`~spaim.downstream.report.DownstreamResult` of the same measured
    data; ``folder`` an earlier ``spaim downstream`` output folder, whose per-version figures
    of the carried versions the new report reuses.
    """
    folder = Path(folder)
    summary = _read(folder, "lr_summary.csv")
    earlier = list(summary["data"])
    names = [n for n in earlier if n not in result.data]
    if not names:
        return result
    clusters = _read(folder, "domains_clusters.csv", dtype=str)
    _check_same_analysis(result, folder, summary, clusters)
    clusters = clusters.set_index("cell")
    domains = _read(folder, "domains_ari.csv")
    pairs = {n: _read(folder, f"lr_pairs_{n}.csv") for n in names}
    # Significant DEGs only, as reports keep them; groups are labels (strings), flags booleans even in an empty table.
    degs = {n: _read(folder, f"deg_{n}.csv", dtype={"group": str, "gene": str}).astype({"significant": bool, "gene_measured": bool})
            for n in names}
    order = earlier + [n for n in result.data if n not in earlier]
    all_degs = {n: result.degs.get(n, degs.get(n)) for n in order}
    return replace(
        result,
        pairs={n: result.pairs.get(n, pairs.get(n)) for n in order},
        pairs_summary=_in_order(pd.concat([result.pairs_summary, summary[summary["data"].isin(names)]]), order),
        degs=all_degs,
        deg_counts=count_degs(all_degs),
        domains=_in_order(pd.concat([result.domains, domains[domains["data"].isin(names)]]), order),
        clusters=result.clusters.assign(**{n: clusters[n].to_numpy() for n in names})[["reference", *order]],
        carried=tuple(names),
        carried_from=str(folder),
    )


def _check_same_analysis(result, folder: Path, summary: pd.DataFrame, clusters: pd.DataFrame) -> None:
    """Fail unless ``folder`` analysed these cells, in these reference groups, with this outcome on the measured data."""
    now = result.clusters
    same_cells = list(clusters["cell"]) == [str(c) for c in now.index]
    same_groups = same_cells and (clusters["reference"].to_numpy() == now["reference"].astype(str).to_numpy()).all()
    raw_then = summary[summary["data"] == RAW].drop(columns="data").reset_index(drop=True)
    raw_now = result.pairs_summary[result.pairs_summary["data"] == RAW].drop(columns="data").reset_index(drop=True)
    same_raw = raw_then.shape == raw_now.shape and np.allclose(
        raw_then.to_numpy(dtype=float), raw_now[raw_then.columns].to_numpy(dtype=float), equal_nan=True
    )
    if not (same_cells and same_groups and same_raw):
        what = "cells" if not same_cells else "reference groups" if not same_groups else "L–R results on the measured data"
        raise SpaIMInputError(
            f"--carry {folder}: its {what} differ from this run's; carry only from a report of the same data and "
            "settings (--dataset/--st, --labels-key, --normalize, --seed), or analyse those versions again."
        )


def _read(folder: Path, name: str, **kwargs) -> pd.DataFrame:
    path = folder / name
    if not path.is_file():
        raise SpaIMInputError(f"--carry {folder}: no {name} there; give the output folder of an earlier 'spaim downstream' run.")
    return pd.read_csv(path, float_precision="round_trip", **kwargs)


def _in_order(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    return table.set_index("data").loc[order].reset_index()


def carried_figures(result, name: str, out: Path) -> set[str]:
    """The carried version ``name``'s figures, copied into ``out`` unless they are there already; their file names."""
    found = set()
    for pattern in VERSION_FIGURES:
        source = Path(result.carried_from) / pattern.format(name)
        if source.is_file():
            if source.resolve() != (out / source.name).resolve():
                shutil.copyfile(source, out / source.name)
            found.add(source.name)
    return found
