"""Reading inputs with clear errors, and writing outputs atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anndata as ad
import pandas as pd

from spaim.errors import SpaIMInputError


def read_h5ad(path: str | os.PathLike, role: str = "input") -> ad.AnnData:
    """Read an ``.h5ad`` file, turning any failure into a one-line :class:`SpaIMInputError`.

    Parameters
    ----------
    path
        File to read.
    role
        What the file is (``"ST"``, ``"SC"``), used in the error message.
    """
    path = Path(path)
    if not path.is_file():
        raise SpaIMInputError(f"{role} file '{path}' does not exist: check the path.")
    try:
        return ad.read_h5ad(path)
    except Exception as exc:  # anndata/h5py raise many types for a bad file
        raise SpaIMInputError(
            f"{role} file '{path}' is not a readable .h5ad ({type(exc).__name__}: {exc}); "
            "write it with anndata's AnnData.write_h5ad."
        ) from None


def check_can_write(path: str | os.PathLike, force: bool) -> Path:
    """Refuse to overwrite an existing output unless ``force`` is set."""
    path = Path(path)
    if path.exists() and not force:
        raise SpaIMInputError(f"output '{path}' already exists: choose another path or pass --force.")
    if not path.parent.exists():
        raise SpaIMInputError(f"output folder '{path.parent}' does not exist: create it first.")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and rename it onto ``path`` on success.

    A crash or an exception leaves any existing ``path`` untouched and no partial file.
    """
    path = check_can_write(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_h5ad(adata: ad.AnnData, path: str | os.PathLike, force: bool = False) -> Path:
    """Write ``adata`` to ``path`` atomically."""
    with atomic_path(path, force) as tmp:
        adata.write_h5ad(tmp)
    return Path(path)


def write_csv(table: pd.DataFrame, path: str | os.PathLike, force: bool = False) -> Path:
    """Write ``table`` (without its index) to ``path`` atomically."""
    with atomic_path(path, force) as tmp:
        table.to_csv(tmp, index=False)
    return Path(path)
