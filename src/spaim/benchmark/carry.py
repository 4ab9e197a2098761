"""Rows of methods that a benchmark run does not rerun, carried from an earlier run on the same folds.

A peer at its own defaults can take hours per dataset (ENVI, Tangram), and the per-fold
cache that lets a run resume lives outside the repository. What a run publishes, its
``per_gene.csv`` and ``summary.csv``, holds every number the report needs of a method
except its predictions. ``spaim benchmark --carry DIR`` reruns the methods it is given and
takes every other method's rows from ``DIR``, after checking that ``DIR`` scored the same
genes in the same folds; the report names the carried methods. Their maps are not redrawn
(that needs predictions).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from spaim.benchmark.inputs import Fold
from spaim.benchmark.scoring import SCORINGS
from spaim.errors import SpaIMInputError

#: Summary columns computed from a method's predictions over all folds (not from its per-gene rows).
CELL_LEVEL_COLUMNS = ["domain_ari", "celltype_ari", "cell_pcc", "moran_spearman"]


@dataclass(frozen=True)
class CarriedScores:
    """What an earlier run measured of one method on one dataset."""

    per_gene: pd.DataFrame  # rows of per_gene.csv, every scoring
    cell_level: pd.DataFrame  # dataset, method, scoring and CELL_LEVEL_COLUMNS, every scoring


@dataclass(frozen=True)
class CarriedRows:
    """An earlier run's ``per_gene.csv`` and ``summary.csv``."""

    source: str
    per_gene: pd.DataFrame
    summary: pd.DataFrame

    @classmethod
    def read(cls, folder: str | Path) -> CarriedRows:
        folder = Path(folder)
        paths = [folder / "per_gene.csv", folder / "summary.csv"]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise SpaIMInputError(f"--carry {folder}: no {' or '.join(missing)} there; give the output folder of an earlier "
                                  "'spaim benchmark' run (e.g. docs/benchmark).")
        per_gene, summary = (pd.read_csv(p, float_precision="round_trip") for p in paths)
        return cls(str(folder), per_gene[per_gene["scoring"].isin(SCORINGS)], summary[summary["scoring"].isin(SCORINGS)])

    def methods(self, dataset: str) -> list[str]:
        """The methods with rows on ``dataset``, in the earlier run's order."""
        return list(dict.fromkeys(self.summary.loc[self.summary["dataset"] == dataset, "method"]))

    def check_folds(self, dataset: str, genes: list[str], folds: list[Fold]) -> None:
        """Fail unless the earlier run held out each of ``dataset``'s genes in the fold this run does."""
        earlier = self.per_gene.loc[self.per_gene["dataset"] == dataset, ["gene", "fold"]].drop_duplicates()
        now = {genes[i]: fold.index for fold in folds for i in fold.test}
        differ = sorted(g for g, k in zip(earlier["gene"], earlier["fold"]) if now.get(g) != k)
        if differ or earlier["gene"].nunique() != len(earlier):
            raise SpaIMInputError(
                f"--carry {self.source}: its {dataset} rows hold out other genes per fold than this run "
                f"({len(differ)} genes differ, e.g. {', '.join(differ[:3])}); carry only from a run with the same "
                "data, --folds and --seed, or rerun those methods."
            )

    def scores(self, dataset: str, method: str) -> tuple[pd.Series, CarriedScores]:
        """The method's first-scoring summary row (status, time, memory) and its scores."""
        rows = self.summary[(self.summary["dataset"] == dataset) & (self.summary["method"] == method)]
        per_gene = self.per_gene[(self.per_gene["dataset"] == dataset) & (self.per_gene["method"] == method)]
        cell_level = rows[["dataset", "method", "scoring", *CELL_LEVEL_COLUMNS]].dropna(subset=CELL_LEVEL_COLUMNS, how="all")
        first = rows[rows["scoring"] == SCORINGS[0]].iloc[0]
        return first, CarriedScores(per_gene.reset_index(drop=True), cell_level.reset_index(drop=True))
