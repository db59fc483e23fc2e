"""Factored second derivatives of :mod:`mestimate.autodiff` jets.

A term is c · a bᵀ per element (:class:`_LowRank`, arrays of shape S + E (+ (k,)) with E
trailing, lazily summed axes) or a dense S + E + (k, k) block (:class:`_Dense`); a gradient
may be kept as a coefficient times a shared factor (:class:`_Scaled`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class _LowRank:
    """c · a bᵀ per element; arrays are S + E (+ (k,)) with ``ne`` trailing summed axes E."""

    c: np.ndarray
    a: np.ndarray
    b: np.ndarray
    ne: int = 0

    def arrays(self):
        return (self.c, self.a, self.b)

    def rebuild(self, c, a, b, ne):
        return _LowRank(c, a, b, ne)


@dataclass(frozen=True)
class _Dense:
    """A full second-derivative array D of shape S + E + (k, k)."""

    d: np.ndarray
    ne: int = 0

    def arrays(self):
        return (self.d,)

    def rebuild(self, d, ne):
        return _Dense(d, ne)


@dataclass(frozen=True)
class _Scaled:
    """A gradient c[..., None] · g kept unmultiplied: constant × jet products such as the
    ψ_t = r_t x_t of estimating equations, whose (n, m, k) gradient a Jacobian sum never
    needs in full (Σ_t c_t g_tᵀ is one matrix product)."""

    c: np.ndarray
    g: np.ndarray

    def materialize(self) -> np.ndarray:
        return self.c[..., None] * self.g


_TAIL = {_LowRank: (0, 1, 1), _Dense: (2,)}  # trailing derivative axes of each array


def _pad(x, nd: int, tail: int = 0) -> np.ndarray:
    """``x`` with leading singleton axes so that it has ``nd`` value axes (+ ``tail``)."""
    x = np.asarray(x)
    missing = nd + tail - x.ndim
    return x.reshape((1,) * missing + x.shape) if missing > 0 else x


def _map_term(t, fn):
    """Apply ``fn(array, tail) -> array`` to every array of a term (value axes first)."""
    arrs = [fn(x, tail + t.ne) for x, tail in zip(t.arrays(), _TAIL[type(t)])]
    return t.rebuild(*arrs, t.ne)


def _promote(t, nd_from: int, nd_to: int):
    if nd_to == nd_from:
        return t
    return _map_term(t, lambda x, tail: _pad(x, nd_to, tail))


def _scale(t, s, nd: int):
    """Multiply a term (already with ``nd`` value axes) by ``s`` (broadcastable to S)."""
    s = _pad(s, nd).reshape(_pad(s, nd).shape + (1,) * t.ne)
    if isinstance(t, _LowRank):
        return _LowRank(t.c * s, t.a, t.b, t.ne)
    return _Dense(t.d * s[..., None, None], t.ne)


def _full_coef(t, shape: tuple):
    """The term with its coefficient broadcast to the full value shape (so that broadcast
    value axes count each of their elements when they are summed or indexed)."""
    nd = len(shape)
    if isinstance(t, _LowRank):
        return _LowRank(np.broadcast_to(t.c, shape + t.c.shape[nd:]), t.a, t.b, t.ne)
    return _Dense(np.broadcast_to(t.d, shape + t.d.shape[nd:]), t.ne)


def _densify(t, shape: tuple) -> np.ndarray:
    """Σ over E of the term: an array of shape S + (k, k)."""
    t = _full_coef(t, shape)
    nd = len(shape)
    if isinstance(t, _Dense):
        return t.d.sum(axis=tuple(range(nd, nd + t.ne))) if t.ne else t.d
    esh = np.broadcast_shapes(t.c.shape[nd:], t.a.shape[nd:-1], t.b.shape[nd:-1])
    k = t.a.shape[-1]
    c = np.broadcast_to(t.c, shape + esh).reshape(shape + (-1,))
    a = np.broadcast_to(t.a, shape + esh + (k,)).reshape(shape + (-1, k))
    b = np.broadcast_to(t.b, shape + esh + (k,)).reshape(shape + (-1, k))
    return np.einsum("...e,...ei,...ej->...ij", c, a, b)


