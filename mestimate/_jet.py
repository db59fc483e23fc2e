"""The :class:`Jet` of :mod:`mestimate.autodiff`: a value with its derivatives, and the
elementwise operations (chain and product rules) on jets."""
from __future__ import annotations

import operator

import numpy as np

from ._jet_rules import BINARY, CONSTANT, UNARY
from ._jet_terms import (
    _Dense,
    _LowRank,
    _Scaled,
    _densify,
    _full_coef,
    _map_term,
    _pad,
    _promote,
    _scale,
)


class AutodiffUnsupported(TypeError):
    """The function did something forward-mode differentiation does not cover."""


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
    >>> from mestimate.autodiff import hessian_per_obs
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
    nd, k, order = np.ndim(val), _k(u, v), _order(u, v)
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
    nd, k, order = np.ndim(y), _k(u, v), _order(u, v)
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



# numpy functions on jets (sums, products, stacking): defined once Jet exists
from ._jet_arrays import _FUNCTIONS, _axes, _matmul, _normalize_key, _sum  # noqa: E402
