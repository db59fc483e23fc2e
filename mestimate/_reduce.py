"""The one place where sums over observations happen.

Every reduction over observations (mean loss, gradient, Hessian, and the meats built
on estfun) goes through a :class:`Reducer`, which evaluates a per-chunk function on
row slices and adds the results. In memory the default is one chunk; a ``chunksize``
bounds the memory of per-observation intermediates (n × k × k Hessians, for
example). A distributed back end only has to provide the same ``sum`` method.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["Reducer"]


class Reducer:
    """Chunked sums over ``n`` observations.

    Parameters
    ----------
    n : int
        Number of observations.
    chunksize : int, optional
        Rows per chunk; ``None`` picks one chunk, or chunks of about 64 MB of
        ``k × k`` per-observation work when ``sum`` is given ``row_bytes``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(10.0)
    >>> Reducer(10, chunksize=3).sum(lambda rows: x[rows].sum())
    np.float64(45.0)
    """

    def __init__(self, n: int, chunksize: int | None = None):
        if chunksize is not None and chunksize < 1:
            raise ValueError("chunksize must be a positive integer")
        self.n = int(n)
        self.chunksize = chunksize

    def slices(self, row_bytes: int = 0) -> list[slice]:
        """Row slices covering 0..n−1."""
        size = self.chunksize
        if size is None:
            size = self.n if row_bytes <= 0 else max(1, int(64e6 // max(row_bytes, 1)))
        size = max(1, min(size, self.n))
        return [slice(i, min(i + size, self.n)) for i in range(0, self.n, size)]

    def sum(self, fn: Callable[[slice], np.ndarray], *, row_bytes: int = 0):
        """Sum ``fn(rows)`` over the chunks."""
        total = None
        for sl in self.slices(row_bytes):
            part = fn(sl)
            total = part if total is None else total + part
        return total

    def concat(self, fn: Callable[[slice], np.ndarray], *, row_bytes: int = 0) -> np.ndarray:
        """Stack per-observation results ``fn(rows)`` over the chunks along axis 0."""
        parts = [fn(sl) for sl in self.slices(row_bytes)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
