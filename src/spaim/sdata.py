"""SpatialData in and out: the ST table of a SpatialData object or ``.zarr`` store, and imputed genes added back.

Vendor outputs (Xenium, CosMx, MERSCOPE, Visium HD, ...) read with ``spatialdata-io``
hold the cells x genes counts in a table annotating a shapes or labels element. SpaIM
needs the table with each cell's coordinates; :func:`st_table` returns it as AnnData,
taking ``obsm["spatial"]`` when present and the annotated element's centroids otherwise.
``spatialdata`` is an optional extra: ``pip install 'spaim[spatialdata]'``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import anndata as ad
import numpy as np

from spaim.errors import SpaIMInputError
from spaim.io import read_h5ad

_INSTALL = "pip install 'spaim[spatialdata]'"


def is_spatialdata(obj) -> bool:
    """Whether ``obj`` is a :class:`spatialdata.SpatialData` (checked without importing spatialdata)."""
    return any(c.__name__ == "SpatialData" and c.__module__.startswith("spatialdata") for c in type(obj).__mro__)


def _spatialdata():
    try:
        with warnings.catch_warnings():  # its dependencies' deprecation notices are not the user's concern
            warnings.simplefilter("ignore")
            import spatialdata
    except ModuleNotFoundError:
        raise SpaIMInputError(f"reading SpatialData needs the spatialdata package: {_INSTALL}.") from None
    return spatialdata


def _table_key(sdata, table_key: str | None) -> str:
    keys = list(sdata.tables.keys())
    if table_key is not None:
        if table_key not in keys:
            raise SpaIMInputError(f"the SpatialData has no table '{table_key}' (tables: {keys}): pick one of them.")
        return table_key
    if len(keys) == 1:
        return keys[0]
    raise SpaIMInputError(
        f"the SpatialData holds {len(keys)} tables ({keys}): name the one with the ST counts "
        "(API: spaim.sdata.st_table(sdata, table_key=...); CLI: --table-key)."
    )


def st_table(sdata, table_key: str | None = None) -> ad.AnnData:
    """The ST table of ``sdata`` as AnnData with coordinates in ``obsm["spatial"]``.

    Parameters
    ----------
    sdata
        A :class:`spatialdata.SpatialData` (not modified).
    table_key
        Which table holds the cells x genes counts; may be omitted when there is one table.

    Returns
    -------
    A new AnnData sharing the table's matrices (no copy of the counts); ``obs`` keeps the
    region and instance columns, so the imputation can be added back with :func:`add_table`.
    """
    key = _table_key(sdata, table_key)
    table = sdata.tables[key]
    xy = table.obsm["spatial"] if "spatial" in table.obsm else _centroids(sdata, table, key)
    return ad.AnnData(
        X=table.X, obs=table.obs.copy(), var=table.var.copy(), layers=dict(table.layers),
        obsm={"spatial": np.asarray(xy, dtype=np.float64)[:, :2]}, uns={"spatialdata_table": key},
    )


def _centroids(sdata, table: ad.AnnData, key: str) -> np.ndarray:
    """Each cell's centroid in the element it annotates (global coordinate system)."""
    attrs = table.uns.get("spatialdata_attrs", {})
    region_key, instance_key = attrs.get("region_key"), attrs.get("instance_key")
    if region_key is None or instance_key is None:
        raise SpaIMInputError(f"table '{key}' has no obsm['spatial'] and annotates no element: add the coordinates to obsm['spatial'].")
    sd = _spatialdata()
    xy = np.full((table.n_obs, 2), np.nan)
    regions = table.obs[region_key].astype(str).to_numpy()
    for region in np.unique(regions):
        if region not in sdata:
            raise SpaIMInputError(f"table '{key}' annotates '{region}', which the SpatialData lacks: add it or fill obsm['spatial'].")
        centres = sd.get_centroids(sdata[region]).compute()
        rows = np.flatnonzero(regions == region)
        found = centres.reindex(table.obs[instance_key].to_numpy()[rows])
        xy[rows] = found[["x", "y"]].to_numpy()
    if np.isnan(xy).any():
        raise SpaIMInputError(f"{int(np.isnan(xy).any(axis=1).sum())} cells of table '{key}' have no shape in their region: fix the instance ids.")
    return xy


def as_anndata(st, table_key: str | None = None) -> ad.AnnData:
    """``st`` itself when it is AnnData; the ST table (:func:`st_table`) when it is a SpatialData."""
    return st_table(st, table_key) if is_spatialdata(st) else st


def read_st(path: str | os.PathLike, table_key: str | None = None) -> ad.AnnData:
    """Read ST data from an ``.h5ad`` file or a SpatialData ``.zarr`` store, with one-line errors."""
    path = Path(path)
    if not _is_zarr(path):
        return read_h5ad(path, "ST")
    if not path.exists():
        raise SpaIMInputError(f"ST store '{path}' does not exist: check the path.")
    sd = _spatialdata()
    try:
        sdata = sd.read_zarr(path)
    except Exception as exc:  # zarr/ome-zarr raise many types for a bad store
        raise SpaIMInputError(f"ST store '{path}' is not a readable SpatialData .zarr ({type(exc).__name__}: {exc}).") from None
    return st_table(sdata, table_key)


def _is_zarr(path: Path) -> bool:
    """A ``.zarr`` path, or a folder with zarr metadata (v2 or v3)."""
    return path.suffix == ".zarr" or any((path / f).is_file() for f in ("zarr.json", ".zgroup", ".zattrs"))


def add_table(sdata, imputed: ad.AnnData, key: str = "spaim_imputed", table_key: str | None = None) -> ad.AnnData:
    """Add ``imputed`` to ``sdata`` as table ``key``, annotating the same element as the ST table.

    Parameters
    ----------
    sdata
        The SpatialData the ST table came from; the new table is added to it (nothing else changes).
    imputed
        :meth:`spaim.SpaIM.impute`'s output for that table's cells.
    key
        Name of the new table; an existing table of that name is an error.
    table_key
        The ST table (may be omitted when ``sdata`` had one table).

    Returns
    -------
    The added table. Write it to a store with ``sdata.write_element(key)``.
    """
    _spatialdata()
    from spatialdata.models import TableModel

    if key in sdata.tables:
        raise SpaIMInputError(f"the SpatialData already has a table '{key}': pick another key.")
    source = sdata.tables[_table_key(sdata, table_key)]
    if not imputed.obs_names.isin(source.obs_names).all():
        raise SpaIMInputError("the imputed cells are not cells of the ST table: impute on the same SpatialData.")
    table = imputed.copy()
    attrs = source.uns.get("spatialdata_attrs")
    if attrs:
        for column in (attrs["region_key"], attrs["instance_key"]):
            table.obs[column] = source.obs.loc[table.obs_names, column].to_numpy()
        table = TableModel.parse(table, region=attrs["region"], region_key=attrs["region_key"],
                                 instance_key=attrs["instance_key"])
    sdata.tables[key] = table
    return table
