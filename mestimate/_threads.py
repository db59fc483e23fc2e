"""Threads for array work that numpy runs with the GIL released (ufuncs, small products).

For computations that split into independent pieces of elementwise arithmetic, which
numpy runs on one core: the HAC lag sums over ranges of rows. Pieces that call large
matrix products are not for threads: OpenBLAS already uses every core, and its worker
threads, spinning after a product, took the second core from a second Python thread
(threading the ℓ'(y, η) evaluations between the products of the exact leave-out refits
was measured no faster than one thread). Below a size threshold everything runs in the
calling thread.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

__all__ = ["available_cpus", "n_workers", "thread_map"]

T = TypeVar("T")
R = TypeVar("R")

MAX_WORKERS = 4   # beyond this the pieces' Python overhead and memory bandwidth dominate


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def n_workers(work: int, per_worker: int) -> int:
    """Threads for ``work`` units of array work: one per ``per_worker`` units, at most the
    available CPUs and :data:`MAX_WORKERS`, at least 1.

    Examples
    --------
    >>> n_workers(10, per_worker=1_000)
    1
    """
    return max(1, min(MAX_WORKERS, available_cpus(), work // max(per_worker, 1)))


def thread_map(fn: Callable[[T], R], items: Sequence[T] | Iterable[T], workers: int) -> list[R]:
    """``[fn(x) for x in items]``, on ``workers`` threads when more than one.

    Results are in the order of ``items``; an exception in any call is raised here.

    Examples
    --------
    >>> thread_map(lambda x: x * x, [1, 2, 3], workers=2)
    [1, 4, 9]
    """
    if workers <= 1:
        return [fn(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))

