"""Importing a peer that no package index serves from its source snapshot (``shared/peers-src``)."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

ENV_VAR = "SPAIM_PEERS_SRC"


def source_dirs() -> list[Path]:
    """Folders searched for peer sources, in order: ``$SPAIM_PEERS_SRC``, then ``shared/peers-src`` beside the checkout."""
    dirs = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    checkout = Path(__file__).resolve().parents[4]
    return dirs + [checkout.parent / "shared" / "peers-src", Path.cwd().parent / "shared" / "peers-src"]


def source_folder(name: str) -> Path:
    """The snapshot folder of peer ``name``, or a one-line error saying where it was looked for."""
    for folder in source_dirs():
        if (folder / name).is_dir():
            return folder / name
    looked = ", ".join(str(d) for d in source_dirs())
    raise ImportError(f"{name} source not found (looked in {looked}): set ${ENV_VAR} to the folder holding {name}/")


def import_from_source(module: str, name: str) -> ModuleType:
    """Import ``module`` from the snapshot of peer ``name``.

    Changes ``sys.path`` for the rest of the process: only done in a method's own worker process.
    """
    folder = str(source_folder(name))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{name} from {folder} cannot be imported ({exc}): see benchmarks/README.md") from None
