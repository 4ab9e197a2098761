"""Downstream analyses that show what imputation buys: L–R pairs, DEGs, spatial domains, maps.

Every analysis takes AnnData with log1p expression in ``X`` (measured via
:func:`log_expression`, imputed as returned by :meth:`spaim.SpaIM.impute`, or both via
:func:`combine`) and returns pandas tables; :mod:`spaim.downstream.plotting` draws them.
"""

from spaim.downstream.deg import count_degs, differential_genes
from spaim.downstream.domains import cluster_cells, domain_scores, reference_partition
from spaim.downstream.expression import combine, log_expression
from spaim.downstream.ligrec import compare_pairs, ligand_receptor, load_resource, spatial_bivariate
from spaim.downstream.uncertainty import confident, multiple_imputation_test

__all__ = [
    "cluster_cells",
    "combine",
    "compare_pairs",
    "confident",
    "count_degs",
    "differential_genes",
    "domain_scores",
    "ligand_receptor",
    "load_resource",
    "multiple_imputation_test",
    "log_expression",
    "reference_partition",
    "spatial_bivariate",
]
