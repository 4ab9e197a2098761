"""Per method and fold result files, so that an interrupted benchmark resumes where it stopped."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class FoldResult:
    """A method's held-out prediction for one fold, with its cost."""

    prediction: np.ndarray  # ST cells x held-out genes, log1p scale
    wall_s: float
    peak_mb: float
    # Prediction intervals, same shape and scale as ``prediction``, for methods that make them (TISSUE).
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None


def fingerprint(**settings) -> str:
    """Short stable hash of everything a result depends on (genes, folds, seed, options)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class MethodCache:
    """The result folder of one method on one dataset under one set of settings."""

    def __init__(self, root: str | os.PathLike, dataset: str, method: str, key: str) -> None:
        self.folder = Path(root) / dataset / f"{method}-{key}"

    def path(self, fold: int) -> Path:
        return self.folder / f"fold{fold}.npz"

    @property
    def error_path(self) -> Path:
        return self.folder / "error.txt"

    @property
    def log_path(self) -> Path:
        return self.folder / "log.txt"

    def done(self, folds: list[int]) -> list[int]:
        return [k for k in folds if self.path(k).is_file()]

    def save(self, fold: int, result: FoldResult) -> None:
        """Write atomically: a killed run never leaves a half-written fold behind."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".npz.tmp")
        os.close(fd)
        try:
            with open(tmp, "wb") as fh:
                bounds = {} if result.lower is None else {"lower": result.lower, "upper": result.upper}
                np.savez(fh, prediction=result.prediction, wall_s=result.wall_s, peak_mb=result.peak_mb, **bounds)
            os.replace(tmp, self.path(fold))
        finally:
            Path(tmp).unlink(missing_ok=True)

    def load(self, fold: int) -> FoldResult:
        with np.load(self.path(fold)) as npz:
            bounds = (npz["lower"], npz["upper"]) if "lower" in npz.files else (None, None)
            return FoldResult(npz["prediction"], float(npz["wall_s"]), float(npz["peak_mb"]), *bounds)

    def save_error(self, message: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.error_path.write_text(message)

    def error(self) -> str | None:
        """The error the last run left (kept, so that a report from the cache can show it)."""
        return self.error_path.read_text().strip() if self.error_path.is_file() else None

    def pop_error(self) -> str | None:
        """The error the last run left, removed so that a rerun starts clean."""
        message = self.error()
        self.error_path.unlink(missing_ok=True)
        return message
