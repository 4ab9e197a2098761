from dataclasses import replace

import anndata as ad
import numpy as np
import pytest

from spaim.errors import SpaIMInputError
from spaim.pairing import prepare_pair
from spaim.tiles import INLINE, TileJob, impute_slide, impute_tiles, spatial_tiles


def test_tiles_cover_every_cell_once_in_compact_equal_pieces():
    coords = np.random.default_rng(0).random((1001, 2)) * [4.0, 1.0]
    tiles = spatial_tiles(coords, 6)
    assert len(tiles) == 6
    assert np.array_equal(np.sort(np.concatenate(tiles)), np.arange(1001))
    assert max(map(len, tiles)) - min(map(len, tiles)) <= 2
    boxes = [np.ptp(coords[t], axis=0).prod() for t in tiles]
    assert max(boxes) < 0.5 * np.ptp(coords, axis=0).prod()  # each tile is a compact part of the slide
    assert all(np.array_equal(a, b) for a, b in zip(tiles, spatial_tiles(coords, 6)))
    with pytest.raises(SpaIMInputError, match="n_tiles"):
        spatial_tiles(coords, 0)


@pytest.fixture()
def tiled(small_pair):
    st, sc = small_pair
    data = prepare_pair(st[:, :100].copy(), sc, labels_key="cell_type")
    job = TileJob(genes=data.default_genes()[:12], seed=1, threads=1, model_params={"widths": (16, 8)},
                  train_params={"max_epochs": 3})
    return data, spatial_tiles(data.st_spatial, 2), job


def test_dask_local_cluster_gives_the_single_process_result(tiled, tmp_path):
    data, tiles, job = tiled
    inline = impute_tiles(data, tiles, job, scheduler=INLINE, progress=False)
    path = impute_tiles(data, tiles, job, tmp_path / "tiles.h5ad", workers=2, progress=False)
    on_dask = ad.read_h5ad(path)
    assert np.allclose(on_dask.X, inline.X, atol=1e-6) and inline.X.std() > 0
    assert list(on_dask.obs_names) == list(data.st_obs.index) and list(on_dask.var_names) == job.genes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiles.h5ad"]  # per-tile files removed


def test_each_tile_is_its_own_model_on_the_slide_basis(tiled):
    data, tiles, job = tiled
    joined = impute_tiles(data, tiles, job, scheduler=INLINE, progress=False)
    slide = data.with_slide_setup(job.seed)
    alone = impute_tiles(slide.cells(tiles[0]), [np.arange(len(tiles[0]))], job, scheduler=INLINE, progress=False)
    # the same model's values, offset from the tile's own lowest cell instead of the slide's
    shift = alone.X - joined.X[tiles[0]]
    assert np.allclose(shift, shift[0], atol=1e-6) and np.all(shift[0] <= 1e-6)
    # a tile cut on its own would normalise and match its cells differently
    own = impute_tiles(replace(data.cells(tiles[0]), slide_size_factors=None), [np.arange(len(tiles[0]))], job,
                       scheduler=INLINE, progress=False)
    assert not np.allclose(own.X, alone.X, atol=1e-4)


def test_the_tiles_share_one_offset_the_slides_lowest_cell(tiled):
    data, tiles, job = tiled
    joined = impute_tiles(data, tiles, job, scheduler=INLINE, progress=False).X
    assert np.all(joined.min(axis=0) == 0)
    tile_lows = np.array([joined[rows].min(axis=0) for rows in tiles])
    assert np.all(tile_lows.min(axis=0) == 0) and np.any(tile_lows.max(axis=0) > 1e-3)  # not each tile's own
    none = replace(job, model_params=job.model_params | {"offset": "none"})
    as_generated = impute_tiles(data, tiles, none, scheduler=INLINE, progress=False).X
    assert np.allclose(joined, as_generated - as_generated.min(axis=0), atol=1e-6)


def test_a_tile_keeps_the_slide_normalisation_and_basis(tiled):
    data, tiles, job = tiled
    slide = data.with_slide_setup(job.seed)
    tile = slide.cells(tiles[1])
    assert np.array_equal(tile.st_size_factors(), data.st_size_factors()[tiles[1]])
    assert np.array_equal(tile.cell_basis.features, slide.cell_basis.features[tiles[1]])
    assert np.array_equal(tile.cell_basis.assignment, slide.cell_basis.assignment[tiles[1]])
    with pytest.raises(ValueError, match="choose genes before cells"):
        tile.subset(np.arange(5))


def test_slide_checks_fail_before_any_work(small_pair, tmp_path):
    st, sc = small_pair
    with pytest.raises(SpaIMInputError, match="unknown option"):
        impute_slide(st, sc, 2, labels_key="cell_type", max_epoch=3)
    del st.obsm["spatial"]
    st.obs = st.obs.drop(columns=["x", "y"])
    with pytest.raises(SpaIMInputError, match="no coordinates"):
        impute_slide(st, sc, 2, labels_key="cell_type", scheduler=INLINE)
    with pytest.raises(SpaIMInputError, match="cannot reach the Dask scheduler"):
        impute_tiles(prepare_pair(*small_pair, labels_key="cell_type"), [np.arange(300)],
                     TileJob(genes=[]), scheduler="nonsense://x", progress=False)
    assert list(tmp_path.iterdir()) == []
