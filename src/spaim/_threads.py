"""Keep torch's CPU thread count stable around scanpy calls."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def preserve_torch_threads() -> Iterator[None]:
    """Restore torch's thread count after code that may change it.

    scanpy's numba kernels share the OpenMP runtime with torch and can raise its thread
    count (seen: from 1, set by OMP_NUM_THREADS=1, to 2), after which training ran 60x
    slower on a busy machine (benchmarks/results/threads.txt).
    """
    n_threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(n_threads)
