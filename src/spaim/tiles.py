"""Large slides as spatial tiles: one model per tile, run as Dask tasks, joined into one output.

What the slide as a whole decides is prepared once and shared by every tile: the SC
reference (clustering, cluster profiles), the cells' library-size factors and the ST cell
basis (the cells' match to the SC metacells and their features), so that a gene's level
is comparable from tile to tile. Each tile then trains its own model on its own cells and
writes its imputed genes to its own ``.h5ad``. The tile files are joined, a chunk of genes
at a time, into one output in the original cell order. Tiles are independent, so they run on any number of Dask workers:
a :class:`distributed.LocalCluster` by default, or an existing cluster by address.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
from tqdm.auto import tqdm

from spaim._threads import available_cpus, resolve_threads, thread_limits
from spaim.errors import SpaIMInputError
from spaim.io import check_can_write
from spaim.pairing import PairedData, prepare_pair, spatial_coordinates
from spaim.preprocessing import SCReference
from spaim.writer import open_h5ad_writer, resolve_chunk_size, resolve_dtype

#: ``scheduler`` value that runs the tiles one after another in this process (no Dask).
INLINE = "inline"


def spatial_tiles(coords: np.ndarray, n_tiles: int) -> list[np.ndarray]:
    """Split cells into ``n_tiles`` spatially compact tiles of (nearly) equal cell counts.

    Cells are cut into vertical strips of equal counts along x, and each strip into pieces
    of equal counts along y; ties are broken by cell order, so the split is deterministic.

    Returns
    -------
    Sorted row indices of each tile; together they cover every cell once.
    """
    coords = np.asarray(coords, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] < 2:
        raise SpaIMInputError("tiles need 2-D cell coordinates: put them in obsm['spatial'] (or obs x/y columns).")
    if isinstance(n_tiles, bool) or not isinstance(n_tiles, int) or not 1 <= n_tiles <= len(coords):
        raise SpaIMInputError(f"n_tiles={n_tiles!r} must be between 1 and the number of ST cells ({len(coords)}).")
    n_strips = max(1, int(round(np.sqrt(n_tiles))))
    per_strip = np.diff(np.linspace(0, n_tiles, n_strips + 1).round().astype(int))
    bounds = np.concatenate([[0], np.cumsum(per_strip)]) * len(coords) // n_tiles
    by_x = np.argsort(coords[:, 0], kind="stable")
    tiles = []
    for strip, k in zip(np.split(by_x, bounds[1:-1]), per_strip):
        by_y = strip[np.argsort(coords[strip, 1], kind="stable")]
        tiles.extend(np.sort(piece) for piece in np.array_split(by_y, k))
    return tiles


@dataclass
class TileJob:
    """What every tile task does besides choosing its cells."""

    genes: list[str]
    seed: int = 0
    threads: int | None = None
    model_params: dict = field(default_factory=dict)
    train_params: dict = field(default_factory=dict)
    dtype: str = "float32"
    chunk_size: int | None = None


def run_tile(tile: PairedData, reference: SCReference, job: TileJob, path: str) -> str:
    """Train a model on one tile's cells and write its imputed genes to ``path`` (a Dask task)."""
    from spaim.model.imputer import SpaIM  # imported by the worker, not at package import

    tile = replace(tile, reference=reference)
    model = SpaIM.from_paired_data(tile, seed=job.seed, threads=job.threads, **job.model_params)
    model.train(**job.train_params | {"progress": False})
    model.impute(job.genes, out=path, chunk_size=job.chunk_size, dtype=job.dtype, force=True)
    return path


def check_workers(workers) -> None:
    """Refuse a local cluster size that is not a positive integer (before any expensive work)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SpaIMInputError(f"workers={workers!r} must be a positive integer: e.g. workers=2.")


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2) -> Iterator:
    """A Dask client: on a new local cluster of ``workers`` processes, or on the cluster at ``scheduler``."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SpaIMInputError("running on Dask needs dask.distributed: pip install 'dask[distributed]'.") from None
    if scheduler is None:
        check_workers(workers)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=logging.ERROR)
        with cluster, Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, ValueError, TimeoutError) as exc:
        raise SpaIMInputError(f"cannot reach the Dask scheduler at '{scheduler}' ({exc}): check the address, e.g. tcp://host:8786.") from None
    with client:
        yield client


def impute_tiles(
    data: PairedData,
    tiles: Sequence[np.ndarray],
    job: TileJob,
    out: str | os.PathLike | None = None,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    work_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = True,
) -> ad.AnnData | Path:
    """Impute ``job.genes`` tile by tile and join the tiles in the original cell order.

    Parameters
    ----------
    data
        The prepared pair; its SC reference is sent once to every worker, and its size
        factors and (for the default architecture) cell basis are made here over the whole
        slide unless it has them (:meth:`PairedData.with_slide_setup`).
    tiles
        Row indices of each tile (e.g. from :func:`spatial_tiles`), covering every cell once.
    job
        Genes, seed, threads per tile, model and training options.
    out
        Output ``.h5ad``; ``None`` returns an in-memory AnnData.
    scheduler
        ``None``: a local cluster of ``workers`` processes; ``"inline"``: one tile after
        another in this process; else the address of a running Dask scheduler.
    work_dir
        Folder for the per-tile files; it must be reachable by every worker under the
        same path (default: a temporary folder beside ``out``).
    """
    from spaim.model.imputer import check_imputable, imputed_frame

    check_imputable(job.genes, data.reference.genes)
    dtype = resolve_dtype(job.dtype)
    cover = np.sort(np.concatenate(tiles)) if len(tiles) else np.array([], dtype=int)
    if not np.array_equal(cover, np.arange(data.n_cells)):
        raise SpaIMInputError("the tiles must cover every ST cell exactly once: build them with spatial_tiles().")
    if out is not None:
        check_can_write(out, force)
    if job.threads is None and scheduler is None:  # share this machine's CPUs between the local workers
        job = replace(job, threads=max(1, available_cpus() // workers))
    with thread_limits(job.threads if scheduler == INLINE else None):  # the workers wait for it
        data = data.with_slide_setup(job.seed, cell_basis=job.model_params.get("architecture", "cellbasis") == "cellbasis")
    # One offset for the slide (the tiles' own lowest cells differ): the tiles give values as generated, the join shifts
    lowest = job.model_params.get("offset", "lowest") == "lowest"
    job = replace(job, model_params=job.model_params | {"offset": "none"})
    parent = work_dir if work_dir is not None else (Path(out).parent if out is not None else None)
    with tempfile.TemporaryDirectory(prefix=".spaim-tiles-", dir=parent) as folder:
        paths = [str(Path(folder) / f"tile_{k}.h5ad") for k in range(len(tiles))]
        pieces = [replace(data.cells(rows), reference=None) for rows in tiles]
        if scheduler == INLINE:
            with thread_limits(job.threads):
                for piece, path in tqdm(list(zip(pieces, paths)), desc="tiles", unit="tile", disable=not progress):
                    run_tile(piece, data.reference, job, path)
        else:
            _run_on_dask(pieces, data.reference, job, paths, scheduler, workers, progress)
        return join_tiles(paths, tiles, imputed_frame(data, job.genes, job.seed), out, dtype, job.chunk_size, force, lowest)


def _run_on_dask(pieces, reference, job, paths, scheduler, workers, progress) -> None:
    from distributed import as_completed

    with dask_client(scheduler, workers) as client:
        shared = client.scatter(reference, broadcast=True)
        futures = [client.submit(run_tile, piece, shared, job, path, pure=False) for piece, path in zip(pieces, paths)]
        for future in tqdm(as_completed(futures), total=len(futures), desc="tiles", unit="tile", disable=not progress):
            future.result()  # re-raises a tile's error here


def join_tiles(
    paths: Sequence[str],
    tiles: Sequence[np.ndarray],
    frame: ad.AnnData,
    out: str | os.PathLike | None,
    dtype: np.dtype,
    chunk_size: int | None = None,
    force: bool = False,
    lowest: bool = False,
) -> ad.AnnData | Path:
    """Join per-tile ``X`` (tile cells x genes) into ``frame``'s cells, a chunk of genes at a time.

    ``lowest``: shift each gene so that its lowest cell of the whole slide reads 0 (the
    slide-wide ``offset="lowest"`` of :class:`spaim.SpaIM`).
    """
    step = resolve_chunk_size(chunk_size, frame.n_obs, dtype)
    with contextlib.ExitStack() as stack:
        files = [stack.enter_context(h5py.File(p, "r")) for p in paths]

        def chunks() -> Iterator[tuple[slice, np.ndarray]]:
            for start in range(0, frame.n_vars, step):
                cols = slice(start, min(start + step, frame.n_vars))
                block = np.empty((frame.n_obs, cols.stop - cols.start), dtype=dtype)
                for f, rows in zip(files, tiles):
                    block[rows] = f["X"][:, cols]
                if lowest:
                    block -= block.min(axis=0)
                yield cols, block

        if out is None:
            frame.X = np.empty(frame.shape, dtype=dtype)
            for cols, block in chunks():
                frame.X[:, cols] = block
            return frame
        with open_h5ad_writer(out, frame, dtype, force) as x:
            for cols, block in chunks():
                x[:, cols] = block
        return Path(out)


def impute_slide(
    st: ad.AnnData,
    sc: ad.AnnData,
    n_tiles: int,
    genes: Sequence[str] | None = None,
    out: str | os.PathLike | None = None,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    threads: int | None = None,
    seed: int = 0,
    chunk_size: int | None = None,
    dtype: str = "float32",
    work_dir: str | os.PathLike | None = None,
    force: bool = False,
    progress: bool = True,
    **params,
) -> ad.AnnData | Path:
    """Impute a large slide as ``n_tiles`` spatial tiles, one model per tile, on Dask.

    Parameters
    ----------
    st, sc
        As for :class:`spaim.SpaIM` (not modified); ``st`` needs coordinates.
    n_tiles
        Number of spatial tiles (see :func:`spatial_tiles`).
    genes
        Genes to impute; default every kept SC gene the panel did not measure.
    out, scheduler, workers, work_dir, force, progress
        See :func:`impute_tiles`.
    threads
        CPU threads of each tile's model (default: this machine's CPUs shared among the
        local workers; on a remote cluster, each worker's CPUs).
    seed
        Seeds the clustering and every tile's model.
    chunk_size, dtype
        Genes written at a time and the output type, as for :meth:`spaim.SpaIM.impute`.
    **params
        Set-up options of :class:`spaim.SpaIM` (``labels_key``, ``normalize``, ...),
        ``widths``/``norm``, and training options of :meth:`spaim.SpaIM.train`.
    """
    from spaim.crossval import MODEL_KEYS, RUN_KEYS
    from spaim.model.imputer import check_module_options
    from spaim.options import SetupOptions, check_known
    from spaim.training import TrainingPlan, plan_keys

    check_known(params, (*SetupOptions.names(), "random_state", *MODEL_KEYS, *RUN_KEYS, *plan_keys()), "impute_slide")
    options = SetupOptions.from_kwargs({k: params.pop(k) for k in (*SetupOptions.names(), "random_state") if k in params}
                                       | {"seed": seed}, "impute_slide")
    model_params = {k: params.pop(k) for k in MODEL_KEYS if k in params}
    check_module_options(**{"widths": (512, 256), "norm": "layer"} | model_params)
    TrainingPlan.from_kwargs({k: v for k, v in params.items() if k not in RUN_KEYS})
    resolve_threads(threads)
    resolve_dtype(dtype)
    resolve_chunk_size(chunk_size, 1)
    if out is not None:
        check_can_write(out, force)
    coords = spatial_coordinates(st) if isinstance(st, ad.AnnData) else None
    if coords is None:
        raise SpaIMInputError("ST has no coordinates, so it cannot be split into tiles: put them in obsm['spatial'].")
    tiles = spatial_tiles(coords, n_tiles)
    with thread_limits(threads if scheduler == INLINE or threads is not None else None):
        data = prepare_pair(st, sc, options, genes=genes)
    job = TileJob(genes=data.default_genes() if genes is None else list(genes), seed=options.seed, threads=threads,
                  model_params=model_params, train_params=params, dtype=dtype, chunk_size=chunk_size)
    return impute_tiles(data, tiles, job, out, scheduler=scheduler, workers=workers, work_dir=work_dir, force=force, progress=progress)
