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
