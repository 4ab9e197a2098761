"""Paired real datasets (ST + its SC reference), loaded the way scanpy and squidpy datasets are.

Files are looked up in, in order: the ``data_dir`` argument, the ``SPAIM_DATA_DIR``
environment variable, ``shared/data`` beside a source checkout, and the download cache
(``~/.cache/spaim``). A dataset whose public source distributes the ``.h5ad`` files is
downloaded into the cache and verified by checksum when it is found nowhere else.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad

from spaim.errors import SpaIMInputError
from spaim.io import read_h5ad

ENV_VAR = "SPAIM_DATA_DIR"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "spaim"
_STDIFF = "https://github.com/fdu-wangfeilab/stDiff/raw/main/datasets"


@dataclass(frozen=True)
class Dataset:
    """One paired dataset: where it comes from and the checksum of each file."""

    name: str
    description: str
    source: str
    sha256: dict[str, str]
    urls: dict[str, str] = field(default_factory=dict)


DATASETS = {
    d.name: d
    for d in [
        Dataset(
            "osmfish_cortex",
            "osmFISH mouse somatosensory cortex (3,405 cells x 33 genes) + Allen SMART-seq cortex reference",
            "Li et al. 2022 dataset 2, h5ad in fdu-wangfeilab/stDiff datasets/ (MIT)",
            {"st.h5ad": "087aa55460dfd6458c229d86b2bf218872403850847e0fd30f647e3b5abaf7e6",
             "sc.h5ad": "8e8281d58044f43664e0d650cbd3351238f9fb5eef3f962b97a2b319b5b97512"},
            {"st.h5ad": f"{_STDIFF}/sp/dataset2_spatial_33.h5ad", "sc.h5ad": f"{_STDIFF}/sc/dataset2_seq_33.h5ad"},
        ),
        Dataset(
            "seqfish_visp_cortex",
            "seqFISH mouse visual cortex (1,597 cells x 125 genes) + Tasic 2016 VISp reference (processed values)",
            "singha53-zz/ssenet inst/extdata (MIT)",
            {"st.h5ad": "b2f8e89d6389685ca08c7f03b2b1389823f466283f4b537a9c3ed5aacd5d1d0d",
             "sc.h5ad": "846efcd5e534481e89b73a25b4202ed83fba2befe48eabfb0a0e1544e7cf64a6"},
        ),
        Dataset(
            "merfish_hypothalamus",
            "MERFISH mouse hypothalamus (750 cells x 134 genes) + Moffitt 2018 10x reference",
            "dmcable/spacexr inst/extdata, MerfishVignette and Merfish_Ref (GPL-3)",
            {"st.h5ad": "e963709e26cbec2faad09e915988c8919ed8580e2b89e6001be967eaca7da0c3",
             "sc.h5ad": "685bab8df5beaddf323be84b39a5cc9674391a0ba9c83662a9f388de02d032db"},
        ),
        Dataset(
            "slideseq_cerebellum",
            "Slide-seq mouse cerebellum (100 beads x 378 genes) + Kozareva snRNA-seq reference",
            "dmcable/spacexr inst/extdata, Vignette (GPL-3)",
            {"st.h5ad": "dc13135e53839bfc8e5cc8d7dbd298a8ca3174cb5a98d6ce9340f9bbfdc63d66",
             "sc.h5ad": "b141fe63c88efa9492ba6b8354b3712b022aa2a910ace5c78057534bb8e37549"},
        ),
        Dataset(
            "visium_lymphnode",
            "10x Visium human lymph node (1,000 spots x 2,000 genes) + annotated scRNA-seq (330 cells x 10,237 genes)",
            "dmcable/spacexr inst/extdata, VisiumLymphVignette and Visium_Lymph_Ref (GPL-3; 10x data CC BY 4.0)",
            {"st.h5ad": "02d3c421b8c5c2a9d61a1a66eba5ced9cd9015386bcbcd1f3e8841c00fa59707",
             "sc.h5ad": "653bccd77dde8b99a7936da1c8ae97aae90a75bbf13c9c8cf1996961868bbd46"},
        ),
    ]
}


def candidate_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for dataset folders, in order."""
    dirs = [Path(data_dir)] if data_dir is not None else []
    if os.environ.get(ENV_VAR):
        dirs.append(Path(os.environ[ENV_VAR]))
    checkout = Path(__file__).resolve().parents[3]
    dirs += [checkout / "shared" / "data", Path.cwd().parent / "shared" / "data", CACHE_DIR]
    return dirs


def locate(name: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Folder holding ``st.h5ad`` and ``sc.h5ad`` of dataset ``name``, downloading it if needed."""
    dataset = _get(name)
    for folder in candidate_dirs(data_dir):
        if all((folder / name / f).is_file() for f in dataset.sha256):
            return folder / name
    if download and dataset.urls:
        return _download(dataset, CACHE_DIR / name)
    searched = ", ".join(str(d) for d in candidate_dirs(data_dir))
    how = "pass download=True" if dataset.urls else f"obtain it from {dataset.source}"
    raise SpaIMInputError(
        f"dataset '{name}' not found (searched {searched}): point --data-dir or {ENV_VAR} at the folder holding {name}/, or {how}."
    )


def load(name: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> tuple[ad.AnnData, ad.AnnData]:
    """Load dataset ``name`` as ``(st, sc)`` AnnData objects.

    Parameters
    ----------
    name
        One of :data:`DATASETS`.
    data_dir
        Folder holding ``{name}/st.h5ad`` and ``{name}/sc.h5ad``.
    download
        Download from the public source (checksum-verified) when the files are not found.
    """
    folder = locate(name, data_dir, download)
    return read_h5ad(folder / "st.h5ad", "ST"), read_h5ad(folder / "sc.h5ad", "SC")


def _get(name: str) -> Dataset:
    if name not in DATASETS:
        raise SpaIMInputError(f"unknown dataset '{name}': choose one of {sorted(DATASETS)}.")
    return DATASETS[name]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(dataset: Dataset, target: Path) -> Path:
    import pooch  # imported here: only a first download needs it

    target.mkdir(parents=True, exist_ok=True)
    for filename, url in dataset.urls.items():
        try:
            # pooch downloads to a temporary file, checks the hash, then moves it into place.
            pooch.retrieve(url, known_hash=f"sha256:{dataset.sha256[filename]}", fname=filename, path=target)
        except ValueError as exc:
            raise SpaIMInputError(f"{url} did not match its checksum ({exc}): the source changed; report it and use a local copy via --data-dir.") from None
        except Exception as exc:  # requests raises many types for network failures
            raise SpaIMInputError(f"could not download {url} ({type(exc).__name__}: {exc}): check the network or use a local copy via --data-dir.") from None
    return target


def osmfish_cortex(data_dir: str | os.PathLike | None = None) -> tuple[ad.AnnData, ad.AnnData]:
    """osmFISH mouse somatosensory cortex and its SMART-seq reference, as ``(st, sc)``."""
    return load("osmfish_cortex", data_dir)
