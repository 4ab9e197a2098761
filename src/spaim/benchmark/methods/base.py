"""The one interface every method adapter implements, and the preprocessing they share."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from spaim.benchmark.inputs import BenchmarkInputs, Fold
from spaim.preprocessing import Matrix, log1p_dense, size_factors

INSTALL_HINT = "pip install -e '.[benchmark]' (see benchmarks/README.md)"


@dataclass(frozen=True)
class Preprocessing:
    """What scale a method takes, what it returns, and how that is scored on the log1p scale."""

    takes: str
    returns: str
    to_log1p: str


class Method(ABC):
    """A method predicting held-out ST genes from the SC reference.

    Subclasses set ``name``, ``preprocessing`` and ``settings`` (the published settings
    used, for the report), and implement :meth:`predict`. ``options`` are keyword arguments
    a user may override (e.g. ``epochs``).
    """

    name: str
    preprocessing: Preprocessing
    settings: str

    def __init__(self, seed: int = 0, **options) -> None:
        self.seed = seed
        self.options = options

    def setup(self, inputs: BenchmarkInputs) -> None:  # noqa: B027 - optional hook
        """Work that does not depend on the fold (e.g. clustering the SC reference)."""

    @abstractmethod
    def predict(self, inputs: BenchmarkInputs, fold: Fold) -> np.ndarray:
        """Fit on ``fold.train`` genes and return ST cells x ``fold.test`` genes on the log1p scale."""


def require(module: str, package: str) -> ModuleType:
    """Import a peer's package, or fail with the one-line install instruction."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{package} is not installed ({exc}): {INSTALL_HINT}") from None


def log_normalized(counts: Matrix) -> np.ndarray:
    """Library-size normalisation to the median total, then log1p (scanpy's standard route)."""
    return log1p_dense(counts, size_factors(counts))


def log1p(counts: Matrix) -> np.ndarray:
    return log1p_dense(counts)
