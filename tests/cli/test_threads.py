"""--threads sets torch's threads and numpy's BLAS pool (OpenBLAS's spinning threads slow the int8 runtime)."""
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from tinycore.cli.threads import limit_threads


def test_limit_threads_sets_torch_and_blas():
    before = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores the BLAS pools when the test ends
        try:
            limit_threads(1)
            blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
            assert blas and all(n == 1 for n in blas)
            assert torch.get_num_threads() == 1
            limit_threads(0)  # at least one thread
            assert torch.get_num_threads() == 1
        finally:
            torch.set_num_threads(before)
