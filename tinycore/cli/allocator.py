"""Keep freed memory in the process (glibc): large training batches otherwise cost page faults on every step.

With glibc's defaults every tensor above the (dynamic) mmap threshold is a fresh mmap that the kernel zero-fills page
by page and unmaps when it is freed, and the heap top is returned to the system as soon as it is free. A training
step of MobileNetV1 at 224x224 in batches of 32 allocates and frees several GB this way: half of its CPU time was
system time (885 M minor page faults in 10 epochs of the full inspect case). Serving blocks up to 1 GB from the heap
and keeping its freed top lets the process reuse those pages; the numbers computed are unchanged (only where memory
comes from), the resident size stays at the peak instead of shrinking between steps. `python bench/allocator.py`
measures the step time both ways.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # mallopt parameters, glibc's malloc.h
SETTINGS = {M_TRIM_THRESHOLD: 2**31 - 1, M_TOP_PAD: 1 << 30, M_MMAP_THRESHOLD: 1 << 30}


def keep_freed_memory() -> bool:
    """Set glibc's malloc to reuse freed pages; True if every setting took, False off glibc (nothing changed)."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS, Windows): leave the allocator alone
        return False
    return all(mallopt(param, value) == 1 for param, value in SETTINGS.items())
