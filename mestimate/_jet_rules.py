"""Derivative rules of the numpy and scipy ufuncs that :mod:`mestimate.autodiff` knows.

Unary rules map a ufunc to ``(f', f'')`` as functions of the argument ``x`` and the value
``y = f(x)``; binary rules give ``(f_u, f_v, f_uu, f_uv, f_vv)`` as functions of ``(u, v,
y)`` (second derivatives may be ``None`` when identically zero). A ufunc missing from
these tables makes the evaluation fail with :class:`~mestimate.autodiff.AutodiffUnsupported`
and the model falls back to complex-step or finite differences, so a rule that is absent is
never a silent error.
"""
from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["UNARY", "BINARY", "CONSTANT"]


def _zero(x, y):
    return None


def _sig(x):
    return special.expit(x)


UNARY: dict = {
    np.negative: (lambda x, y: -np.ones_like(x), _zero),
    np.positive: (lambda x, y: np.ones_like(x), _zero),
    np.exp: (lambda x, y: y, lambda x, y: y),
    np.expm1: (lambda x, y: y + 1.0, lambda x, y: y + 1.0),
    np.exp2: (lambda x, y: y * np.log(2.0), lambda x, y: y * np.log(2.0) ** 2),
    np.log: (lambda x, y: 1.0 / x, lambda x, y: -1.0 / x**2),
    np.log1p: (lambda x, y: 1.0 / (1.0 + x), lambda x, y: -1.0 / (1.0 + x) ** 2),
    np.log2: (lambda x, y: 1.0 / (x * np.log(2.0)), lambda x, y: -1.0 / (x**2 * np.log(2.0))),
    np.log10: (lambda x, y: 1.0 / (x * np.log(10.0)), lambda x, y: -1.0 / (x**2 * np.log(10.0))),
    np.sqrt: (lambda x, y: 0.5 / y, lambda x, y: -0.25 / (y * x)),
    np.cbrt: (lambda x, y: y / (3.0 * x), lambda x, y: -2.0 * y / (9.0 * x**2)),
    np.square: (lambda x, y: 2.0 * x, lambda x, y: np.full_like(x, 2.0)),
    np.reciprocal: (lambda x, y: -(y**2), lambda x, y: 2.0 * y**3),
    np.absolute: (lambda x, y: np.sign(x), _zero),
    np.fabs: (lambda x, y: np.sign(x), _zero),
    np.sin: (lambda x, y: np.cos(x), lambda x, y: -y),
    np.cos: (lambda x, y: -np.sin(x), lambda x, y: -y),
    np.tan: (lambda x, y: 1.0 + y**2, lambda x, y: 2.0 * y * (1.0 + y**2)),
    np.sinh: (lambda x, y: np.cosh(x), lambda x, y: y),
    np.cosh: (lambda x, y: np.sinh(x), lambda x, y: y),
    np.tanh: (lambda x, y: 1.0 - y**2, lambda x, y: -2.0 * y * (1.0 - y**2)),
    np.arctan: (lambda x, y: 1.0 / (1.0 + x**2), lambda x, y: -2.0 * x / (1.0 + x**2) ** 2),
    np.arcsinh: (lambda x, y: 1.0 / np.sqrt(1.0 + x**2), lambda x, y: -x / (1.0 + x**2) ** 1.5),
    np.arcsin: (lambda x, y: 1.0 / np.sqrt(1.0 - x**2), lambda x, y: x / (1.0 - x**2) ** 1.5),
    np.arccos: (lambda x, y: -1.0 / np.sqrt(1.0 - x**2), lambda x, y: -x / (1.0 - x**2) ** 1.5),
    special.expit: (lambda x, y: y * (1.0 - y), lambda x, y: y * (1.0 - y) * (1.0 - 2.0 * y)),
    special.log_expit: (lambda x, y: _sig(-x), lambda x, y: -_sig(x) * _sig(-x)),
    special.logit: (lambda x, y: 1.0 / (x * (1.0 - x)),
                    lambda x, y: (2.0 * x - 1.0) / (x * (1.0 - x)) ** 2),
    special.gammaln: (lambda x, y: special.digamma(x), lambda x, y: special.polygamma(1, x)),
    special.digamma: (lambda x, y: special.polygamma(1, x), lambda x, y: special.polygamma(2, x)),
    special.erf: (lambda x, y: 2.0 / np.sqrt(np.pi) * np.exp(-(x**2)),
                  lambda x, y: -4.0 * x / np.sqrt(np.pi) * np.exp(-(x**2))),
    special.erfc: (lambda x, y: -2.0 / np.sqrt(np.pi) * np.exp(-(x**2)),
                   lambda x, y: 4.0 * x / np.sqrt(np.pi) * np.exp(-(x**2))),
    special.ndtr: (lambda x, y: np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi),
                   lambda x, y: -x * np.exp(-0.5 * x**2) / np.sqrt(2 * np.pi)),
    special.log_ndtr: (lambda x, y: _mills(x, y), lambda x, y: _mills(x, y) * (-x - _mills(x, y))),
}


def _mills(x, y):
    """φ(x)/Φ(x) from log Φ(x) = y, stable in both tails."""
    return np.exp(-0.5 * x**2 - y - 0.5 * np.log(2 * np.pi))


def _logaddexp(u, v, y):
    a = np.exp(u - y)
    b = np.exp(v - y)
    s = a * b
    return a, b, s, -s, s


def _power(u, v, y):
    # u ** v for u > 0 in the v-derivatives; the u-derivatives hold for any u
    uv1 = v * u ** (v - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lu = np.log(u)
    return (uv1, y * lu, v * (v - 1.0) * u ** (v - 2.0), u ** (v - 1.0) * (1.0 + v * lu),
            y * lu**2)


def _divide(u, v, y):
    r = 1.0 / v
    return r, -y * r, None, -(r**2), 2.0 * y * r**2


def _multiply(u, v, y):
    return v, u, None, 1.0, None


def _arctan2(u, v, y):
    d = u**2 + v**2
    return v / d, -u / d, -2 * u * v / d**2, (u**2 - v**2) / d**2, 2 * u * v / d**2


def _hypot(u, v, y):
    return u / y, v / y, v**2 / y**3, -u * v / y**3, u**2 / y**3


def _xlogy(u, v, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        zero = np.asarray(u) == 0
        return (np.where(zero, 0.0, np.log(v)), np.where(zero, 0.0, u / v), None,
                np.where(zero, 0.0, 1.0 / v), np.where(zero, 0.0, -u / v**2))


def _xlog1py(u, v, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        zero = np.asarray(u) == 0
        return (np.where(zero, 0.0, np.log1p(v)), np.where(zero, 0.0, u / (1.0 + v)), None,
                np.where(zero, 0.0, 1.0 / (1.0 + v)), np.where(zero, 0.0, -u / (1.0 + v) ** 2))


BINARY: dict = {
    np.multiply: _multiply,
    np.divide: _divide,
    np.power: _power,
    np.float_power: _power,
    np.logaddexp: _logaddexp,
    np.arctan2: _arctan2,
    np.hypot: _hypot,
    special.xlogy: _xlogy,
    special.xlog1py: _xlog1py,
}

# ufuncs whose result is locally constant in θ (or boolean): evaluated on the values only
CONSTANT = {
    np.sign, np.floor, np.ceil, np.trunc, np.rint, np.isfinite, np.isnan, np.isinf,
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.signbit,
}
