"""Exact first and second derivatives of a numpy loss by forward-mode automatic differentiation.

A user's loss ``loss(theta, d) -> (n,)`` is ordinary numpy code. Evaluated at a
:class:`Jet` instead of a parameter vector, every operation it performs carries, next to
its value, the derivative with respect to θ (shape ``value.shape + (k,)``) and the second
derivative. One evaluation then gives the per-observation losses, the per-observation
gradients G(z_t; θ) and the Hessian of the mean loss, exact to rounding, instead of the
k (complex step) or O(k²) (finite differences) evaluations numerical derivatives need.

Second derivatives are kept in factored form. Each elementary step u = f(v) contributes
f''(v) ∇v ∇vᵀ, and a product contributes ∇u ∇vᵀ + ∇v ∇uᵀ, so the per-observation Hessian
is a sum of terms c_t(z) a_t(z) b_t(z)ᵀ with n-vectors c_t and n × k factors a_t, b_t; sums
over a non-observation axis (a multinomial loss summing over categories) are kept as an
extra, lazily summed axis. The Hessian of the mean loss is then Σ_t A_tᵀ diag(w c_t) B_t,
one n × k × k product per term, and the n × k × k per-observation Hessians are never formed.

Operations the rules do not cover (``np.asarray(theta)``, ``float(theta[0])``, a scipy
function that is not a ufunc, ``np.einsum``, ...) raise :class:`AutodiffUnsupported`; models
then fall back to complex-step or finite differences (see
:attr:`mestimate.MEstimator.derivative_method`), so an unsupported loss is slower, never wrong.
"""
from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._jet_rules import BINARY, CONSTANT, UNARY

__all__ = ["AutodiffUnsupported", "Jet", "evaluate", "hessian_sum", "hessian_per_obs",
           "jacobian_sum", "gradient_sum", "agrees_with_numerical", "unsupported_reason"]


class AutodiffUnsupported(TypeError):
    """The function did something forward-mode differentiation does not cover."""


# ----------------------------------------------------------------------------- terms
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


# ----------------------------------------------------------------------------- the jet
class Jet:
    """A value with its first (and optionally second) derivatives with respect to θ.

    Parameters
    ----------
    val : ndarray, shape S
    grad : ndarray, shape S + (k,)
    terms : tuple
        Factored second derivatives (see the module notes).
    order : {1, 2}
        2 tracks second derivatives; 1 only gradients (cheaper, for scores and ψ).

    Examples
    --------
    >>> import numpy as np
    >>> t = Jet.seed(np.array([0.5, 3.0]))       # θ = (a, b)
    >>> out = np.exp(t[0]) * t[1] ** 2            # e^a b²
    >>> out.grad                                  # [e^a b², 2 e^a b]
    array([14.83849144,  9.89232762])
    >>> hessian_per_obs(out)                      # [[e^a b², 2 e^a b], [2 e^a b, 2 e^a]]
    array([[14.83849144,  9.89232762],
           [ 9.89232762,  3.29744254]])
    """

    __slots__ = ("val", "_grad", "terms", "order")
    __array_priority__ = 1000
    __pandas_priority__ = 5000

    def __init__(self, val, grad, terms=(), order: int = 2):
        self.val = np.asarray(val)
        self._grad = grad
        self.terms = tuple(terms) if order >= 2 else ()
        self.order = order

    @classmethod
    def seed(cls, theta, order: int = 2) -> "Jet":
        """The independent variable θ: value θ, gradient the identity."""
        theta = np.asarray(theta)
        return cls(theta.copy(), np.eye(theta.size, dtype=theta.dtype), (), order)

    # --------------------------------------------------------------- basic protocol
    @property
    def grad(self) -> np.ndarray:
        """∂value/∂θ, shape value.shape + (k,) (possibly a broadcast view)."""
        g = self._grad
        if isinstance(g, _Scaled):
            g = g.materialize()
            if g.shape != self.shape + (g.shape[-1],):
                g = np.broadcast_to(g, self.shape + (g.shape[-1],))
            self._grad = g
        return g

    @property
    def k(self) -> int:
        g = self._grad
        return (g.g if isinstance(g, _Scaled) else g).shape[-1]

    shape = property(lambda self: self.val.shape)
    ndim = property(lambda self: self.val.ndim)
    size = property(lambda self: self.val.size)
    dtype = property(lambda self: self.val.dtype)

    def __len__(self) -> int:
        return len(self.val)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"Jet(val={self.val!r}, k={self.k}, terms={len(self.terms)})"

    def __array__(self, *args, **kwargs):
        raise AutodiffUnsupported("the function converts the parameters to a plain array")

    def __float__(self):
        raise AutodiffUnsupported("the function converts a parameter to a float")

    __int__ = __complex__ = __index__ = __float__

    def __bool__(self):
        raise AutodiffUnsupported("the function branches on the value of a parameter")

    def astype(self, dtype, copy=True):
        if np.dtype(dtype).kind not in "fc":
            raise AutodiffUnsupported(f"the function casts the parameters to {dtype}")
        return self

    def copy(self) -> "Jet":
        return self

    # --------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return _add(self, other, 1.0)

    def __radd__(self, other):
        return _add(other, self, 1.0)

    def __sub__(self, other):
        return _add(self, other, -1.0)

    def __rsub__(self, other):
        return _add(other, self, -1.0)

    def __mul__(self, other):
        return _binary(np.multiply, self, other)

    def __rmul__(self, other):
        return _binary(np.multiply, other, self)

    def __truediv__(self, other):
        return _binary(np.divide, self, other)

    def __rtruediv__(self, other):
        return _binary(np.divide, other, self)

    def __pow__(self, other):
        if not isinstance(other, Jet) and np.ndim(other) == 0 and other == 2:
            return _unary(np.square, self)
        return _binary(np.power, self, other)

    def __rpow__(self, other):
        return _binary(np.power, other, self)

    def __neg__(self):
        return _unary(np.negative, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary(np.absolute, self)

    def __matmul__(self, other):
        return _matmul(self, other)

    def __rmatmul__(self, other):
        return _matmul(other, self)

    def _cmp(op):
        return lambda self, other: op(self.val, _value(other))

    __lt__, __le__ = _cmp(operator.lt), _cmp(operator.le)
    __gt__, __ge__ = _cmp(operator.gt), _cmp(operator.ge)
    __eq__, __ne__ = _cmp(operator.eq), _cmp(operator.ne)
    __hash__ = None

    # --------------------------------------------------------------- shape operations
    def __getitem__(self, key):
        key = _normalize_key(key, self.ndim)
        val = self.val[key]
        full = self.shape + (self.k,)
        if isinstance(self._grad, _Scaled):  # index coefficient and base, both views
            lazy = self._grad
            grad = _Scaled(np.broadcast_to(lazy.c, self.shape)[key],
                           np.broadcast_to(lazy.g, full)[key + (slice(None),)])
        else:
            grad = np.broadcast_to(self.grad, full)[key + (slice(None),)]
        terms = []
        for t in self.terms:
            t = _full_coef(t, self.shape)
            terms.append(_map_term(t, lambda x, tail: np.broadcast_to(
                x, self.shape + x.shape[self.ndim:])[key + (slice(None),) * tail]))
        return Jet(val, grad, terms, self.order)

    def sum(self, axis=None, keepdims=False, **kwargs):
        _no_extra(kwargs, "sum")
        return _sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False, **kwargs):
        _no_extra(kwargs, "mean")
        count = self.size if axis is None else np.prod([self.shape[a] for a in _axes(axis, self.ndim)])
        return _sum(self, axis, keepdims) * (1.0 / count)

    def dot(self, other):
        return _matmul(self, other)

    def reshape(self, *shape, **kwargs):
        _no_extra(kwargs, "reshape")
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        new = np.empty(self.shape)[...].reshape(shape).shape  # validates, resolves -1
        if new == self.shape:
            return self
        terms = [_Dense(_densify(t, self.shape).reshape(new + (self.k, self.k)))
                 for t in self.terms]
        return Jet(self.val.reshape(new),
                   np.broadcast_to(self.grad, self.shape + (self.k,)).reshape(new + (self.k,)),
                   terms, self.order)

    def ravel(self):
        return self.reshape(-1)

    flatten = ravel

    @property
    def T(self):
        if self.ndim < 2:
            return self
        perm = tuple(range(self.ndim))[::-1]
        terms = [_Dense(np.transpose(_densify(t, self.shape), perm + (self.ndim, self.ndim + 1)))
                 for t in self.terms]
        grad = np.broadcast_to(self.grad, self.shape + (self.k,))
        return Jet(self.val.T, np.transpose(grad, perm + (self.ndim,)), terms, self.order)

    # --------------------------------------------------------------- numpy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs.get("out") is not None:
            raise AutodiffUnsupported(f"np.{ufunc.__name__}.{method} on parameters")
        _no_extra({k: v for k, v in kwargs.items() if k != "out"}, ufunc.__name__)
        if ufunc in (np.add, np.subtract):
            return _add(inputs[0], inputs[1], 1.0 if ufunc is np.add else -1.0)
        if ufunc in UNARY:
            return _unary(ufunc, inputs[0])
        if ufunc in BINARY:
            return _binary(ufunc, *inputs)
        if ufunc in CONSTANT:
            return ufunc(*[_value(x) for x in inputs])
        if ufunc in (np.maximum, np.fmax):
            u, v = inputs
            return where(_value(u) >= _value(v), u, v)
        if ufunc in (np.minimum, np.fmin):
            u, v = inputs
            return where(_value(u) <= _value(v), u, v)
        if ufunc is np.matmul:
            return _matmul(*inputs)
        raise AutodiffUnsupported(f"no derivative rule for np.{ufunc.__name__}")

    def __array_function__(self, func, types, args, kwargs):
        impl = _FUNCTIONS.get(func)
        if impl is None:
            raise AutodiffUnsupported(f"no derivative rule for {func.__module__}.{func.__name__}")
        return impl(*args, **kwargs)


def _no_extra(kwargs, name):
    bad = {k: v for k, v in kwargs.items() if v is not None and k not in ("dtype", "casting")}
    if bad:
        raise AutodiffUnsupported(f"{name} with {sorted(bad)}")


def _value(x):
    return x.val if isinstance(x, Jet) else np.asarray(x)


def _order(*xs) -> int:
    return min(x.order for x in xs if isinstance(x, Jet))


def _k(*xs) -> int:
    return next(x.k for x in xs if isinstance(x, Jet))


def _grad_of(x, shape, k):
    """The gradient of ``x`` padded to len(shape) value axes (None for constants)."""
    return _pad(x.grad, len(shape), 1) if isinstance(x, Jet) else None


def _terms_of(x, nd: int):
    return [_promote(t, x.ndim, nd) for t in x.terms] if isinstance(x, Jet) else []


def _finish(val, grad, terms, order, k) -> Jet:
    shape = np.shape(val)
    if grad is None:
        grad = np.zeros(shape + (k,))
    elif not isinstance(grad, _Scaled) and grad.shape != shape + (k,):
        grad = np.broadcast_to(grad, shape + (k,))
    return Jet(val, grad, terms, order)


def _parts(x, nd: int):
    """Gradient of ``x`` as (coefficient, base) with ∇x = c[..., None] · base, padded to
    ``nd`` value axes; (None, None) for a constant. Elementwise operations only rescale c,
    so a chain of them shares one base (X for a GLM index) and allocates no n × k arrays."""
    if not isinstance(x, Jet):
        return None, None
    g = x._grad
    if isinstance(g, _Scaled):
        return _pad(g.c, nd), _pad(g.g, nd, 1)
    return np.ones((1,) * nd), _pad(g, nd, 1)


def _combine(parts, nd):
    """Σ f_i ∇x_i for [(f_i, c_i, base_i)]: lazy when every base is the same array."""
    parts = [(f, c, b) for f, c, b in parts if b is not None]
    if not parts:
        return None
    base = parts[0][2]
    if all(b is base for _, _, b in parts):
        coef = None
        for f, c, _ in parts:
            term = c if f is None else _pad(f, nd) * c
            coef = term if coef is None else coef + term
        return _Scaled(coef, base)
    total = None
    for f, c, b in parts:
        term = (c if f is None else _pad(f, nd) * c)[..., None] * b
        total = term if total is None else total + term
    return total


def _lowrank(c, cu, bu, cv, bv, nd):
    """The term c ∇u ∇vᵀ with ∇u = cu·bu, ∇v = cv·bv: coefficient c·cu·cv on (bu, bv)."""
    return _LowRank(_pad(c, nd) * cu * cv, bu, bv)


def _add(u, v, sign: float):
    val = _value(u) + _value(v) if sign > 0 else _value(u) - _value(v)
    shape, nd, k, order = np.shape(val), np.ndim(val), _k(u, v), _order(u, v)
    (cu, bu), (cv, bv) = _parts(u, nd), _parts(v, nd)
    grad = _combine([(None, cu, bu), (None if sign > 0 else -1.0, cv, bv)], nd)
    terms = _terms_of(u, nd)
    tv = _terms_of(v, nd)
    terms += tv if sign > 0 else [_scale(t, -1.0, nd) for t in tv]
    return _finish(val, grad, terms, order, k)


def _unary(ufunc, x: Jet) -> Jet:
    nd = x.ndim
    with np.errstate(divide="ignore", invalid="ignore"):
        y = ufunc(x.val)
        d1, d2 = UNARY[ufunc]
        g1 = d1(x.val, y)
        c, base = _parts(x, nd)
        terms = []
        if x.order >= 2:
            terms = [_scale(t, g1, nd) for t in x.terms]
            c2 = d2(x.val, y)
            if c2 is not None:
                terms.append(_lowrank(c2, c, base, c, base, nd))
    return Jet(y, _Scaled(_pad(g1, nd) * c, base), terms, x.order)


def _binary(ufunc, u, v) -> Jet:
    uv, vv = _value(u), _value(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = ufunc(uv, vv)
        fu, fv, fuu, fuv, fvv = BINARY[ufunc](uv, vv, y)
    shape, nd, k, order = np.shape(y), np.ndim(y), _k(u, v), _order(u, v)
    (cu, bu), (cv, bv) = _parts(u, nd), _parts(v, nd)
    grad = _combine([(fu, cu, bu), (fv, cv, bv)], nd)
    terms = []
    if order >= 2:
        for f, x in ((fu, u), (fv, v)):
            if isinstance(x, Jet):
                terms += [_scale(t, f, nd) for t in _terms_of(x, nd)]
        for c, ca, ba, cb, bb, twice in ((fuu, cu, bu, cu, bu, False), (fvv, cv, bv, cv, bv, False),
                                         (fuv, cu, bu, cv, bv, True)):
            if c is not None and ba is not None and bb is not None:
                terms.append(_lowrank(_pad(c, nd) * (2.0 if twice else 1.0), ca, ba, cb, bb, nd))
    return _finish(y, grad, terms, order, k)


def where(cond, a, b):
    """``np.where(cond, a, b)`` for jets: the derivatives of the branch taken."""
    cond = np.asarray(_value(cond), dtype=bool)
    val = np.where(cond, _value(a), _value(b))
    shape, nd, k, order = val.shape, val.ndim, _k(a, b), _order(a, b)
    grad = np.zeros(shape + (k,))
    terms = []
    for x, mask in ((a, cond), (b, ~cond)):
        if isinstance(x, Jet):
            grad = grad + _pad(mask, nd)[..., None] * _pad(x.grad, nd, 1)
            terms += [_scale(t, mask.astype(float), nd) for t in _terms_of(x, nd)]
    return Jet(val, grad, terms, order)


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


# ----------------------------------------------------------------------------- entry points
def evaluate(f: Callable, theta, *, order: int = 2) -> Jet:
    """``f`` evaluated at the jet of ``theta``: value, gradient and (``order=2``) Hessian terms.

    Raises :class:`AutodiffUnsupported` when ``f`` uses an operation without a rule.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 1.0, 2.0])
    >>> out = evaluate(lambda p: np.log1p(np.exp(p[0] + p[1] * x)), np.array([0.1, -0.3]))
    >>> out.grad.shape
    (3, 2)
    """
    theta = np.asarray(theta, dtype=float).ravel()
    out = f(Jet.seed(theta, order))
    if not isinstance(out, Jet):  # constant in θ
        val = np.asarray(out, dtype=float)
        return Jet(val, np.zeros(val.shape + (theta.size,)), (), order)
    return out


def hessian_sum(out: Jet, weights=None) -> np.ndarray:
    """Σ_t w_t ∇²f_t (k × k, symmetrised) of a per-observation jet (value shape (n,)).

    Notes
    -----
    For a low-rank term c a bᵀ the sum is Aᵀ diag(w c) B: one n × k × k product.
    """
    if out.ndim != 1:
        raise ValueError("hessian_sum needs one value per observation")
    n, k = out.shape[0], out.k
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    total = np.zeros((k, k))
    groups: dict = {}  # low-rank terms on the same pair of factors: add the coefficients first
    for t in out.terms:
        t = _full_coef(t, (n,))
        if isinstance(t, _Dense):
            d = t.d.reshape(n, -1, k, k) if t.ne else t.d[:, None]
            total += np.einsum("n,nekl->kl", w, np.broadcast_to(d, (n,) + d.shape[1:]))
        elif t.ne == 0:
            key = (id(t.a), id(t.b))
            if key in groups:
                groups[key] = (groups[key][0] + t.c, t.a, t.b)
            else:
                groups[key] = (t.c, t.a, t.b)
        else:
            cw = t.c * w.reshape((n,) + (1,) * t.ne)
            total += np.einsum("...,...i,...j->ij", cw, t.a, t.b, optimize=True)
    for c, a, b in groups.values():
        cw = c * w
        if a.shape == (n, k) and b.shape == (n, k):
            total += (a * cw[:, None]).T @ b
        else:
            total += np.einsum("n,ni,nj->ij", cw, np.broadcast_to(a, (n, k)),
                               np.broadcast_to(b, (n, k)))
    return 0.5 * (total + total.T)


def gradient_sum(out: Jet, weights=None) -> np.ndarray:
    """Σ_t w_t ∇f_t (k,) of a per-observation jet (value shape (n,)), without forming the
    n × k gradients when they are a rescaled common factor.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> gradient_sum(evaluate(lambda p: (x - p[0]) ** 2, np.array([1.0]), order=1))  # Σ −2(x − θ)
    array([-6.])
    """
    n = out.shape[0]
    w = None if weights is None else np.asarray(weights, dtype=float)
    lazy = out._grad
    if isinstance(lazy, _Scaled) and out.ndim == 1:
        c = np.broadcast_to(lazy.c, (n,))
        return (c if w is None else c * w) @ np.broadcast_to(lazy.g, (n, out.k))
    g = np.broadcast_to(out.grad, (n, out.k))
    return g.sum(axis=0) if w is None else w @ g


def hessian_per_obs(out: Jet) -> np.ndarray:
    """Per-element Hessians, shape value.shape + (k, k) (symmetrised)."""
    k = out.k
    total = np.zeros(out.shape + (k, k))
    for t in out.terms:
        total = total + _densify(t, out.shape)
    return 0.5 * (total + np.swapaxes(total, -1, -2))


def jacobian_sum(out: Jet, weights=None) -> np.ndarray:
    """Σ_t w_t ∂f_t/∂θ of a per-observation vector function (value shape (n, m)) → (m, k)."""
    n = out.shape[0]
    lazy = out._grad
    if isinstance(lazy, _Scaled) and out.ndim == 2:  # Σ_t w_t c_t g_tᵀ without forming c g
        c = np.broadcast_to(lazy.c, out.shape)
        if weights is not None:
            c = c * np.asarray(weights, dtype=float)[:, None]
        g = lazy.g
        if g.shape[1] == 1:
            return c.T @ np.broadcast_to(g[:, 0, :], (n, out.k))
        return np.einsum("nj,njk->jk", c, np.broadcast_to(g, out.shape + (out.k,)))
    g = np.broadcast_to(out.grad, out.shape + (out.k,))
    if weights is None:
        return g.sum(axis=0)
    return np.tensordot(np.asarray(weights, dtype=float), g, axes=(0, 0))


def agrees_with_numerical(f: Callable, theta, *, second: bool = True, rtol: float = 1e-6) -> bool:
    """Whether forward-mode derivatives of ``f`` can be used at ``theta`` (see
    :func:`unsupported_reason`, which says why not).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1, 1, 7)
    >>> agrees_with_numerical(lambda p: np.logaddexp(0, p[0] + p[1] * x), np.array([0.2, 0.5]))
    True
    >>> agrees_with_numerical(lambda p: np.asarray(p)[0] * x, np.array([0.2, 0.5]))
    False
    """
    return unsupported_reason(f, theta, second=second, rtol=rtol) is None


def unsupported_reason(f: Callable, theta, *, second: bool = True,
                       rtol: float = 1e-6) -> str | None:
    """Whether forward-mode derivatives of ``f`` can be used at ``theta``.

    ``f`` must evaluate on a jet without an unsupported operation, return the same values
    as on a plain vector, and give directional derivatives (two random directions, every
    element) that agree with Richardson-extrapolated central differences to ``10 rtol``; with ``second=True`` the Hessian of the
    sum must also agree, along a random direction v, with central differences of the
    jet gradient: vᵀ H v against (∇f(θ + h v) − ∇f(θ − h v))·v / 2h. Anything else (an
    exception included) means "no": the caller uses numerical derivatives.

    Returns None when forward-mode derivatives can be used, else the reason.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(-1, 1, 7)
    >>> unsupported_reason(lambda p: np.asarray(p)[0] * x, np.array([0.2, 0.5]))
    'the function converts the parameters to a plain array'
    """
    from . import derivatives as nd

    theta = np.asarray(theta, dtype=float).ravel()
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = evaluate(f, theta, order=2 if second else 1)
        except Exception as exc:  # noqa: BLE001 - any failure means "use numerical derivatives"
            return str(exc) or type(exc).__name__
        try:
            base = np.asarray(f(theta), dtype=float)
            if out.shape != base.shape or not np.allclose(out.val, base, rtol=1e-12, atol=0):
                return "its value on a jet differs from its value on the parameter vector"
            grad = np.broadcast_to(out.grad, out.shape + (theta.size,))
            if not np.all(np.isfinite(grad)):
                return "its forward-mode gradient is not finite"
            # directional derivatives of every element along two random directions against
            # Richardson-extrapolated central differences (4 evaluations each, not 2k)
            rng = np.random.default_rng(0)
            vs = rng.standard_normal((2, theta.size)) * np.maximum(np.abs(theta), 1.0)
            for v in vs:
                fv = lambda t, v=v: np.asarray(f(theta + t[0] * v), dtype=float)  # noqa: E731
                num = nd.jacobian(fv, np.zeros(1), method="central", typ=np.ones(1))[..., 0]
                ad_dir = grad @ v
                tol = rtol * (np.abs(num) + 1e-8 * np.max(np.abs(num), initial=0.0)) + 1e-12
                if not np.all(np.abs(ad_dir - num) <= tol * 10):
                    return "its forward-mode gradient disagrees with numerical differentiation"
            if not second:
                return None
            v = vs[0]
            h = np.finfo(float).eps ** (1 / 3)
            sums = [evaluate(f, theta + s * h * v, order=1).grad.sum(axis=tuple(range(out.ndim)))
                    for s in (1.0, -1.0)]
            fd = float((sums[0] - sums[1]) @ v) / (2 * h)
            ad = float(v @ hessian_sum(out.reshape(-1)) @ v)
        except Exception as exc:  # noqa: BLE001
            return str(exc) or type(exc).__name__
    if not (np.isfinite(ad) and abs(ad - fd) <= 1e-4 * max(abs(fd), abs(ad), 1e-8)):
        return "its forward-mode Hessian disagrees with differences of its gradient"
    return None
