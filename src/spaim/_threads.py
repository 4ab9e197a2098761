"""How many CPU threads spaim's numerical libraries use: torch, BLAS/OpenMP and numba alike."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import torch
from threadpoolctl import threadpool_limits

from spaim.errors import SpaIMInputError


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's core count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity mask
        return os.cpu_count() or 1


def resolve_threads(threads: int | None = None) -> int:
    """The thread count to use: ``threads`` itself, or by default :func:`available_cpus`.

    A valid ``OMP_NUM_THREADS`` in the environment caps the default, as it caps torch's own.
    """
    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS", "")
        return min(available_cpus(), int(env)) if env.isdigit() and int(env) > 0 else available_cpus()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise SpaIMInputError(f"threads={threads!r} must be a positive integer (or None for every available CPU): e.g. threads=1.")
    return threads


@contextlib.contextmanager
def thread_limits(threads: int | None = None) -> Iterator[int]:
    """Run the block with ``threads`` threads in torch, BLAS/OpenMP pools and numba; restore them after.

    More threads than free cores make the pools spin: cross-validation on a busy 2-core
    machine used ~10x the CPU with 2 torch threads than with 1 (issue 11).

    Yields
    ------
    The thread count in force.
    """
    n = resolve_threads(threads)
    torch_before = torch.get_num_threads()
    numba = sys.modules.get("numba")  # imported by scanpy; never imported here just to set it
    numba_before = numba.get_num_threads() if numba is not None else None
    try:
        with threadpool_limits(limits=n):
            torch.set_num_threads(n)
            if numba is not None:
                numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
            try:
                yield n
            finally:
                if numba is not None:
                    numba.set_num_threads(numba_before)
    finally:
        # torch last, after the OpenMP pools are restored: they and numba's setter reach the runtime
        # torch reads its count from, and numba first loaded inside an enclosing block (scanpy is
        # imported on first use) comes back at its default, the core count, which became torch's
        # (a default fit's set-up ran at 2 threads and 3x the CPU on a busy 2-core machine)
        torch.set_num_threads(torch_before)


def preserve_torch_threads() -> contextlib.AbstractContextManager[int]:
    """Hold every pool, numba included, at torch's current thread count, and restore torch's after.

    For scanpy calls: its numba kernels share the OpenMP runtime with torch and can raise
    torch's thread count (seen: from 1, set by OMP_NUM_THREADS=1, to 2), after which
    training ran 60x slower on a busy machine (benchmarks/results/threads.txt). Import
    scanpy before entering, so that numba is loaded and limited too.
    """
    return thread_limits(torch.get_num_threads())
