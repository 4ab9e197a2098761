"""Matching gene names between the ST panel and the SC reference."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from spaim.errors import SpaIMInputError


@dataclass(frozen=True)
class GeneMatch:
    """Shared genes as named on each side, in ST panel order."""

    st_names: list[str]
    sc_names: list[str]
    st_only: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)

    @property
    def n_shared(self) -> int:
        return len(self.st_names)

    def summary(self) -> str:
        text = f"{self.n_shared} shared genes; {len(self.st_only)} ST genes absent from SC"
        if self.ambiguous:
            text += f"; {len(self.ambiguous)} dropped as ambiguous under case-insensitive matching"
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
