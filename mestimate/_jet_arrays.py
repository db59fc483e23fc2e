"""Shape-changing numpy operations on :mod:`mestimate.autodiff` jets: sums over axes,
matrix products, indexing keys, stacking, ``np.where`` / ``np.clip``."""
from __future__ import annotations

import numpy as np

from ._jet import AutodiffUnsupported, Jet, _no_extra, _unary, _value, where
from ._jet_terms import _Dense, _densify, _full_coef, _map_term


def _axes(axis, nd: int) -> tuple:
    if axis is None:
        return tuple(range(nd))
    axis = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return tuple(sorted(int(a) % nd for a in axis))


def _sum(x, axis=None, keepdims=False):
    if not isinstance(x, Jet):
        return np.sum(x, axis=axis, keepdims=keepdims)
    axes = _axes(axis, x.ndim)
    keep = [a for a in range(x.ndim) if a not in axes]
    val = x.val.sum(axis=axes, keepdims=keepdims)
    grad = np.broadcast_to(x.grad, x.shape + (x.k,)).sum(axis=axes, keepdims=keepdims)

    def move(arr, tail):
        # the summed value axes become extra, lazily summed axes in front of the old ones
        arr = np.transpose(arr, keep + list(axes) + list(range(x.ndim, arr.ndim)))
        if keepdims:
            kept = iter(arr.shape[:len(keep)])
            lead = tuple(next(kept) if a in keep else 1 for a in range(x.ndim))
            arr = arr.reshape(lead + arr.shape[len(keep):])
        return arr

    terms = []
    for t in x.terms:
        moved = _map_term(_full_coef(t, x.shape), move)
        terms.append(moved.rebuild(*moved.arrays(), t.ne + len(axes)))
    return Jet(val, grad, terms, x.order)


def _matmul(u, v):
    uj, vj = isinstance(u, Jet), isinstance(v, Jet)
    if uj and vj:
        if u.ndim == 1 and v.ndim == 1:
            return _sum(u * v)
        raise AutodiffUnsupported("matrix product of two parameter-dependent matrices")
    if vj:  # constant @ jet: contract the last axis of the constant with v's first axis
        c = np.asarray(u)
        if v.ndim not in (1, 2) or c.ndim < 1:
            raise AutodiffUnsupported("matmul with a parameter array of more than 2 dimensions")
        val = c @ v.val
        if v.ndim == 1 and v.grad.shape == (v.k, v.k) and _is_identity(v.grad):
            grad = c.astype(float, copy=False)  # X @ θ: the gradient is X itself
        else:
            grad = np.tensordot(c, np.broadcast_to(v.grad, v.shape + (v.k,)), axes=(-1, 0))
        terms = []
        if v.terms:
            dense = sum(_densify(t, v.shape) for t in v.terms)
            terms = [_Dense(np.tensordot(c, dense, axes=(-1, 0)))]
        return Jet(val, grad, terms, v.order)
    c = np.asarray(v)  # jet @ constant
    if c.ndim == 1:
        return _sum(u * c, axis=-1)
    if c.ndim == 2 and u.ndim >= 1:
        return _sum(u[..., :, None] * c, axis=-2)
    raise AutodiffUnsupported("matmul of parameters with an array of more than 2 dimensions")


def _is_identity(g: np.ndarray) -> bool:
    return bool(np.array_equal(g, np.eye(g.shape[0])))


def _normalize_key(key, nd: int) -> tuple:
    """An indexing key with Ellipsis expanded, so trailing derivative axes can be appended."""
    key = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, Jet) for k in key):
        raise AutodiffUnsupported("indexing with parameter values")
    used = sum(np.asarray(k).ndim if isinstance(k, np.ndarray) and k.dtype == bool else
               (0 if k is None or k is Ellipsis else 1) for k in key)
    out = []
    for k_ in key:
        if k_ is Ellipsis:
            out += [slice(None)] * (nd - used)
            used = nd
        else:
            out.append(k_)
    return tuple(out) + (slice(None),) * (nd - used)


def _as_jet(x, like: Jet) -> Jet:
    if isinstance(x, Jet):
        return x
    val = np.asarray(x, dtype=float)
    return Jet(val, np.zeros(val.shape + (like.k,)), (), like.order)


def _join(func, arrays, axis=0, **kwargs):
    """concatenate / stack of jets and constants (second derivatives densified)."""
    _no_extra(kwargs, func.__name__)
    like = next(a for a in arrays if isinstance(a, Jet))
    jets = [_as_jet(a, like) for a in arrays]
    if func is np.column_stack:
        jets = [j[:, None] if j.ndim == 1 else j for j in jets]
        func, axis = np.concatenate, 1
    elif func is np.hstack:
        func, axis = np.concatenate, 0 if jets[0].ndim == 1 else 1
    elif func is np.vstack:
        jets = [j[None, :] if j.ndim == 1 else j for j in jets]
        func, axis = np.concatenate, 0
    val = func([j.val for j in jets], axis=axis)
    nd = val.ndim
    ax = axis % nd
    grad = func([np.broadcast_to(j.grad, j.shape + (j.k,)) for j in jets], axis=ax)
    terms = []
    if like.order >= 2 and any(j.terms for j in jets):
        dense = [sum((_densify(t, j.shape) for t in j.terms),
                     np.zeros(j.shape + (j.k, j.k))) for j in jets]
        terms = [_Dense(func(dense, axis=ax))]
    return Jet(val, grad, terms, like.order)


def _clip(a, a_min=None, a_max=None, **kwargs):
    _no_extra(kwargs, "clip")
    out = a
    if a_min is not None:
        out = where(_value(out) < _value(a_min), a_min, out)
    if a_max is not None:
        out = where(_value(out) > _value(a_max), a_max, out)
    return out


def _where(cond, a=None, b=None):
    if a is None or b is None:
        raise AutodiffUnsupported("np.where with one argument")
    return where(cond, a, b)


_FUNCTIONS = {
    np.sum: lambda a, axis=None, keepdims=False, **kw: (_no_extra(kw, "sum"),
                                                        _sum(a, axis, keepdims))[1],
    np.mean: lambda a, axis=None, keepdims=False, **kw: a.mean(axis, keepdims, **kw),
    np.where: _where,
    np.dot: lambda a, b, out=None: _matmul(a, b),
    np.clip: _clip,
    np.concatenate: lambda arrays, axis=0, **kw: _join(np.concatenate, arrays, axis, **kw),
    np.stack: lambda arrays, axis=0, **kw: _join(np.stack, arrays, axis, **kw),
    np.column_stack: lambda tup: _join(np.column_stack, tup),
    np.hstack: lambda tup, **kw: _join(np.hstack, tup, **kw),
    np.vstack: lambda tup, **kw: _join(np.vstack, tup, **kw),
    np.shape: lambda a: a.shape,
    np.ndim: lambda a: a.ndim,
    np.size: lambda a, axis=None: a.size if axis is None else a.shape[axis],
    np.reshape: lambda a, shape, **kw: a.reshape(shape, **kw),
    np.ravel: lambda a, order="C": a.ravel(),
    np.transpose: lambda a, axes=None: a.T if axes is None else _unsupported("np.transpose axes"),
    np.atleast_1d: lambda a: a if a.ndim >= 1 else a.reshape(1),
    np.square: lambda a, **kw: _unary(np.square, a),
}


def _unsupported(what):
    raise AutodiffUnsupported(what)


