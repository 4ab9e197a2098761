"""Writing cells x genes results to ``.h5ad`` one gene chunk at a time.

The file is an ordinary ``.h5ad`` (``anndata.read_h5ad`` reads it, also ``backed="r"``);
``X`` and any layers are filled in place, so memory holds one chunk of genes, never genes x cells.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd

try:
    from anndata.io import write_elem
except ImportError:  # anndata < 0.11
    from anndata.experimental import write_elem

from spaim.errors import SpaIMInputError
from spaim.io import atomic_path

#: Output value types: float32 by default; float16 halves the file (log1p values stay well inside its range).
DTYPES = {"float32": np.float32, "float16": np.float16}

#: Bytes of one gene chunk when the chunk size is chosen automatically. Generating a chunk
#: holds a few temporaries of its size (decoder output, cell offsets, cluster transfer, the
#: write buffer): at 256 MB the impute step peaked ~0.7 GB above a 1/10-genes run at 100k cells.
CHUNK_BYTES = 64 * 2**20

# HDF5 storage blocks of X: 16 genes wide, so that chunks of a multiple of 16 genes fill whole blocks.
_BLOCK_GENES, _BLOCK_CELLS = 16, 16384


def resolve_dtype(dtype: str | np.dtype) -> np.dtype:
    """The numpy type for ``"float32"`` or ``"float16"``."""
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in DTYPES:
        raise SpaIMInputError(f"dtype '{dtype}' is not supported for the output: use one of {sorted(DTYPES)}.")
    return np.dtype(DTYPES[name])


def resolve_chunk_size(chunk_size: int | None, n_cells: int, dtype: np.dtype = np.dtype(np.float32)) -> int:
    """Genes per chunk: ``chunk_size``, or by default as many as fit :data:`CHUNK_BYTES` (a multiple of 16)."""
    if chunk_size is None:
        fit = CHUNK_BYTES // max(1, n_cells * np.dtype(dtype).itemsize)
        return int(max(1, min(4096, fit // _BLOCK_GENES * _BLOCK_GENES or fit)))
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise SpaIMInputError(f"chunk_size={chunk_size!r} must be a positive number of genes: e.g. chunk_size=256.")
    return chunk_size


class H5adBlocks:
    """An ``.h5ad`` being written, filled a block of genes at a time.

    ``blocks[:, cols] = values`` fills ``X``; ``blocks.layers[name][:, cols] = values`` fills
    a layer. Setting ``blocks.var`` replaces the genes' table when the file is finished: the
    matrices then keep their first ``len(var)`` columns, so genes dropped while writing (e.g.
    below a confidence threshold) are left out by writing the kept ones first.
    """

    def __init__(self, x: h5py.Dataset, layers: dict[str, h5py.Dataset]) -> None:
        self.x, self.layers = x, layers
        self.var: pd.DataFrame | None = None

    def __setitem__(self, key, values) -> None:
        self.x[key] = values

    @property
    def shape(self) -> tuple[int, int]:
        return self.x.shape


def _dense_dataset(group: h5py.Group, name: str, shape: tuple[int, int], dtype: np.dtype) -> h5py.Dataset:
    """An empty, resizable cells x genes dataset in anndata's on-disk encoding of a dense matrix."""
    blocks = (max(1, min(shape[0], _BLOCK_CELLS)), max(1, min(shape[1], _BLOCK_GENES)))
    chunked = all(shape)
    data = group.create_dataset(name, shape=shape, dtype=dtype, chunks=blocks if chunked else None,
                                maxshape=shape if chunked else None)
    data.attrs["encoding-type"] = "array"
    data.attrs["encoding-version"] = "0.2.0"
    return data


@contextlib.contextmanager
def open_h5ad_writer(
    path: str | os.PathLike,
    frame: ad.AnnData,
    dtype: str | np.dtype = "float32",
    force: bool = False,
    layers: Sequence[str] = (),
) -> Iterator[H5adBlocks]:
    """Write ``frame`` (``obs``, ``var``, ``obsm``, ``uns``; ``X`` ignored) and yield its empty ``X`` and ``layers`` to fill.

    The caller assigns blocks, e.g. ``blocks[:, start:stop] = values`` (see :class:`H5adBlocks`);
    the file appears at ``path`` only when the block exits without error (written beside it,
    then renamed).
    """
    dtype = resolve_dtype(dtype)
    shape = (frame.n_obs, frame.n_vars)
    skeleton = ad.AnnData(obs=frame.obs, var=frame.var, obsm=dict(frame.obsm), uns=dict(frame.uns))
    with atomic_path(path, force) as tmp:
        skeleton.write_h5ad(tmp)
        with h5py.File(tmp, "r+") as f:
            group = f.require_group("layers")
            blocks = H5adBlocks(_dense_dataset(f, "X", shape, dtype), {name: _dense_dataset(group, name, shape, dtype) for name in layers})
            yield blocks
            if blocks.var is not None:
                for data in (blocks.x, *blocks.layers.values()):
                    data.resize((shape[0], len(blocks.var)))
                del f["var"]
                write_elem(f, "var", blocks.var)
    return Path(path)
