import os
import subprocess
import sys

import numba
import pytest
import torch
from threadpoolctl import threadpool_info

from spaim._threads import available_cpus, resolve_threads, thread_limits
from spaim.errors import SpaIMInputError


def test_limits_apply_to_torch_blas_and_numba_and_are_restored():
    before = (torch.get_num_threads(), numba.get_num_threads(), [p["num_threads"] for p in threadpool_info()])
    with thread_limits(1) as n:
        assert n == 1 and torch.get_num_threads() == 1 and numba.get_num_threads() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())
    assert (torch.get_num_threads(), numba.get_num_threads(), [p["num_threads"] for p in threadpool_info()]) == before


def test_default_is_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert resolve_threads() == available_cpus() >= 1
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert resolve_threads() == 1
    assert resolve_threads(3) == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(SpaIMInputError, match="threads="):
        resolve_threads(bad)


def test_more_threads_can_be_set_for_a_block():
    before = torch.get_num_threads()
    with thread_limits(2):
        assert torch.get_num_threads() == 2
        assert all(p["num_threads"] == 2 for p in threadpool_info())
    assert torch.get_num_threads() == before


NUMBA_LOADED_INSIDE = """
import sys
import torch
import spaim
from spaim._threads import preserve_torch_threads, thread_limits
assert "numba" not in sys.modules, "importing spaim loads numba: this check needs a process without it"
with thread_limits(1):
    import scanpy  # loads numba, as the first clustering of a fit does
    with preserve_torch_threads():
        pass
    print(torch.get_num_threads())
"""


def test_numba_first_loaded_inside_a_block_leaves_torch_at_the_limit():
    # a fresh process: this one has numba loaded already; 2 threads is enough to tell
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", NUMBA_LOADED_INSIDE], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "1"
