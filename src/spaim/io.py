"""Reading inputs with clear errors, and writing outputs atomically."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Iterator
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
        raise SpaIMInputError(f"{role} file '{path}' does not exist or is not a file: check the path.")
    try:
        with warnings.catch_warnings():
            # anndata warns about duplicate names on reading; validation refuses them in one line.
            warnings.filterwarnings("ignore", message=".*names are not unique", category=UserWarning)
            return ad.read_h5ad(path)
    except Exception as exc:  # anndata/h5py raise many types for a bad file
        raise SpaIMInputError(
            f"{role} file '{path}' is not a readable .h5ad ({type(exc).__name__}: {exc}); "
            "write it with anndata's AnnData.write_h5ad."
        ) from None


def check_can_write(path: str | os.PathLike, force: bool, inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """Refuse an output path that is a folder, an input, or an existing file without ``force``.

    Parameters
    ----------
    path
        The output file.
    force
        Allow replacing an existing file (CLI: ``--force``).
    inputs
        Files the same command reads; the output may never replace one of them.
    """
    path = Path(path)
    if path.is_dir():
        raise SpaIMInputError(f"output '{path}' is an existing folder: give a file path (a new file name inside it, for example).")
    if any(path.resolve() == Path(i).resolve() for i in inputs):
        raise SpaIMInputError(f"output '{path}' is also an input: write the result to another file.")
    if path.exists() and not force:
        raise SpaIMInputError(f"output '{path}' already exists: choose another path or pass --force.")
    if not path.parent.is_dir():
        raise SpaIMInputError(f"output folder '{path.parent}' does not exist: create it first.")
    if not os.access(path.parent, os.W_OK):
        raise SpaIMInputError(f"output folder '{path.parent}' is not writable: choose another folder or fix its permissions.")
    return path


def os_error_message(exc: OSError) -> str:
    """One line for an operating-system error (disk full, permissions, ...), naming a fix."""
    fixes = {
        errno.ENOSPC: "free disk space or write to another disk",
        errno.EDQUOT: "free space within your quota or write elsewhere",
        errno.EACCES: "fix the permissions or choose another path",
        errno.EPERM: "fix the permissions or choose another path",
        errno.EROFS: "write to a writable file system",
    }
    where = f" ('{exc.filename}')" if exc.filename else ""
    reason = exc.strerror or type(exc).__name__
    return f"{reason}{where}: {fixes.get(exc.errno, 'check the path and the disk, then run again')}."


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


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success move every file in it into ``path``.

    A failure while writing leaves ``path`` as it was (absent, or with its earlier files)
    and no temporary folder behind.
    """
    path = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        path.mkdir(exist_ok=True)
        for item in sorted(tmp.iterdir()):
            os.replace(item, path / item.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
