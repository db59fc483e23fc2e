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

import warnings
from collections.abc import Callable

import numpy as np

from ._jet import AutodiffUnsupported, Jet, where
from ._jet_terms import _Dense, _Scaled, _densify, _full_coef

__all__ = ["AutodiffUnsupported", "Jet", "where", "evaluate", "hessian_sum", "hessian_per_obs",
           "jacobian_sum", "gradient_sum", "agrees_with_numerical", "unsupported_reason",
           "nbytes"]


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
        else:  # summed axes E (e.g. categories): one (n·|E|, k) matrix product
            esh = np.broadcast_shapes(t.c.shape[1:], t.a.shape[1:-1], t.b.shape[1:-1])
            full = (n,) + esh
            cw = np.broadcast_to(t.c * w.reshape((n,) + (1,) * t.ne), full).reshape(-1)
            a = np.broadcast_to(t.a, full + (k,)).reshape(-1, k)
            b = np.broadcast_to(t.b, full + (k,)).reshape(-1, k)
            total += (a * cw[:, None]).T @ b
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


def nbytes(out: Jet) -> int:
    """Memory held by a jet's value, gradient and second-derivative terms, counting broadcast
    views at their full size (an upper bound; used to size chunks of observations).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones(1000)
    >>> nbytes(evaluate(lambda p: np.exp(p[0] * x), np.array([0.1]))) >= 3 * 8 * 1000
    True
    """
    arrays = [out.val]
    g = out._grad
    arrays += [g.c, g.g] if isinstance(g, _Scaled) else [g]
    for t in out.terms:
        arrays += list(t.arrays())
    return int(sum(np.prod(np.shape(a), dtype=float) * 8 for a in arrays))

