"""Build many independent items (synthesized clips, rendered scenes) in worker processes, in order.

Workers are spawned, not forked: torch and BLAS thread pools in the parent are not safe to fork. Each job must be
picklable and `fn` importable (a module-level function); results come back in job order whatever the scheduling,
so a data set built from per-item seeds is the same with any number of workers.
"""
from __future__ import annotations

import multiprocessing
import sys
from functools import partial
from typing import Any, Callable, Sequence

from tqdm import tqdm


def _call(fn: Callable[..., Any], job: tuple) -> Any:
    return fn(*job)


def map_in_processes(fn: Callable[..., Any], jobs: Sequence[tuple], *, workers: int = 2, desc: str = "",
                     progress: bool = True, chunksize: int = 1) -> list[Any]:
    """[fn(*job) for job in jobs] over `workers` processes (in this process when workers <= 1), with a bar."""
    bar = partial(tqdm, total=len(jobs), desc=desc, disable=not progress, file=sys.stderr, leave=False)
    if workers <= 1:
        return [fn(*job) for job in bar(jobs)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        return list(bar(pool.imap(partial(_call, fn), jobs, chunksize=chunksize)))
