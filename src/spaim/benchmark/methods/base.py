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

    Subclasses set ``name``, ``preprocessing``, ``settings`` (the published settings
    used, for the report) and ``output_scale``, and implement :meth:`predict`. ``options``
    are keyword arguments a user may override (e.g. ``epochs``).

    ``output_scale`` says how the normalised scoring reads a prediction: ``"counts"`` is
    log1p of values at each ST cell's own sequencing depth (e.g. expected counts), which
    are library-size normalised like the truth; ``"log_normalized"`` is a log expression
    scale without the ST cell's depth in it, compared as it is.
    """

    name: str
    preprocessing: Preprocessing
    settings: str
    output_scale: str = "log_normalized"

    def __init__(self, seed: int = 0, **options) -> None:
        self.seed = seed
        self.options = options
        #: Prediction intervals of a method that makes them: fold index -> (lower, upper), each
        #: ST cells x held-out genes on the prediction's scale. The worker caches them with the fold.
        self.intervals: dict[int, tuple[np.ndarray, np.ndarray]] = {}

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


def raw_counts(counts: Matrix) -> np.ndarray:
    """Counts as a dense float32 array, unnormalised: what Li et al. 2022's pipelines pass to several peers."""
    return np.asarray(counts.toarray() if hasattr(counts, "toarray") else counts, dtype=np.float32)
