"""Matching gene names between the ST panel and the SC reference."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import anndata as ad
import numpy as np
import pandas as pd

from spaim.errors import SpaIMInputError, SpaIMWarning

if TYPE_CHECKING:
    from spaim.options import SetupOptions
    from spaim.preprocessing import Matrix


@dataclass(frozen=True)
class GeneMatch:
    """Shared genes as named on each side, in ST panel order."""

    st_names: list[str]
    sc_names: list[str]
    st_only: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    unexpressed: list[str] = field(default_factory=list)  # SC names of shared genes without ST counts

    @property
    def measured_sc(self) -> set[str]:
        """SC names of every gene the ST panel measured, used or not."""
        return {*self.sc_names, *self.unexpressed}

    @property
    def n_shared(self) -> int:
        return len(self.st_names)

    def summary(self) -> str:
        text = f"{self.n_shared} shared genes; {len(self.st_only)} ST genes absent from SC"
        if self.ambiguous:
            text += f"; {len(self.ambiguous)} dropped as ambiguous under case-insensitive matching"
        if self.unexpressed:
            text += f"; {len(self.unexpressed)} dropped as they have no ST counts"
        return text


def match_genes(st_genes: pd.Index, sc_genes: pd.Index, case_sensitive: bool = True) -> GeneMatch:
    """Pair ST genes with SC genes, exactly or ignoring case.

    Raises
    ------
    SpaIMInputError
        When no gene is shared.
    """
    key = (lambda g: g) if case_sensitive else str.upper
    sc_by_key: dict[str, str] = {}
    ambiguous: set[str] = set()
    for g in sc_genes:
        k = key(g)
        if k in sc_by_key:
            ambiguous.add(k)
        sc_by_key[k] = g
    st_keys = pd.Series([key(g) for g in st_genes])
    ambiguous |= set(st_keys[st_keys.duplicated()])
    st_names, sc_names, st_only, dropped = [], [], [], []
    for g, k in zip(st_genes, st_keys):
        if k in ambiguous:
            dropped.append(g)
        elif k in sc_by_key:
            st_names.append(g)
            sc_names.append(sc_by_key[k])
        else:
            st_only.append(g)
    if not st_names:
        hint = "" if not case_sensitive else " or try case-insensitive matching (--ignore-case)"
        raise SpaIMInputError(
            f"ST and SC share no gene names (ST e.g. {list(st_genes[:3])}, SC e.g. {list(sc_genes[:3])}): "
            f"use the same gene identifiers in both{hint}."
        )
    return GeneMatch(st_names, sc_names, st_only, dropped)


def gene_names(adata: ad.AnnData, role: str, options: SetupOptions) -> pd.Index:
    """``adata``'s gene names, stripped of surrounding whitespace when ``options`` ask for it.

    Without ``strip_gene_names`` such names are kept as they are, and a warning says that
    they match only names spelled the same way.
    """
    names = pd.Index(adata.var_names.astype(str))
    padded = names[names != names.str.strip()]
    if len(padded) and options.strip_gene_names:
        return pd.Index(names.str.strip())
    if len(padded):
        warnings.warn(
            f"{len(padded)} {role} gene name(s) have leading or trailing whitespace (e.g. {list(padded[:2])}): they match "
            "only names spelled the same way; pass strip_gene_names=True (CLI: --strip-gene-names) to strip them.",
            SpaIMWarning,
            stacklevel=3,
        )
    return names


def drop_unexpressed(match: GeneMatch, st_shared: Matrix) -> GeneMatch:
    """Drop shared genes without a single ST count: nothing to learn from, no held-out score."""
    totals = np.asarray(st_shared.sum(axis=0)).ravel()
    silent = totals == 0
    if not silent.any() or silent.all():
        return match  # all silent: refused with the ST checks, which say why
    warnings.warn(
        f"{int(silent.sum())} shared gene(s) have no counts in any ST cell (e.g. {[match.st_names[i] for i in np.flatnonzero(silent)[:3]]}): "
        "they are left out of training; check the ST layer, or drop those genes to silence this.",
        SpaIMWarning,
        stacklevel=3,
    )
    keep = np.flatnonzero(~silent)
    return replace(
        match,
        st_names=[match.st_names[i] for i in keep],
        sc_names=[match.sc_names[i] for i in keep],
        unexpressed=[match.sc_names[i] for i in np.flatnonzero(silent)],
    )
