"""CPU threads of a command: torch's and numpy's BLAS, set once from `--threads`.

The numpy integer runtime multiplies im2col windows with BLAS; OpenBLAS starts one thread per core and its threads
spin while they wait, so on a shared, loaded machine a 2-thread BLAS makes each small matmul far slower than one
thread (VWW MobileNetV1 int8, one image: 360 ms wall / 95 ms CPU with the default threads, 45 ms / 10 ms with 1,
load average ~20 on 2 cores). The count applies to both pools.
"""
from __future__ import annotations


def limit_threads(n: int) -> None:
    """Use at most max(1, n) threads in torch and in the BLAS/OpenMP pools numpy and scikit-learn load."""
    import torch
    from threadpoolctl import threadpool_limits

    n = max(1, int(n))
    torch.set_num_threads(n)
    threadpool_limits(limits=n)  # kept for the life of the process (not used as a context manager)
