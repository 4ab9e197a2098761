"""Small slices of the real paired datasets in ../shared/data, shared by the downstream tests."""

from __future__ import annotations

import pytest

from spaim import datasets
from spaim.downstream.expression import log_expression


def _load(name: str):
    try:
        return datasets.load(name, download=False)
    except Exception as exc:  # the data live outside the repository
        pytest.skip(f"dataset {name} not available: {exc}")


@pytest.fixture(scope="session")
def seqfish():
    """seqFISH visual cortex: ST with cell-type labels (first 600 cells) and the SC reference."""
    st, sc = _load("seqfish_visp_cortex")
    return st[:600].copy(), sc


@pytest.fixture(scope="session")
def seqfish_log(seqfish):
    return log_expression(seqfish[0])


@pytest.fixture(scope="session")
def visium():
    """Visium lymph node: 400 spots, human genes, a wide SC reference."""
    st, sc = _load("visium_lymphnode")
    return st[:400].copy(), sc


@pytest.fixture(scope="session")
def visium_log(visium):
    return log_expression(visium[0])
