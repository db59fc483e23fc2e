"""Numerical derivatives: complex step where safe, central differences otherwise.

Everything here works on plain callables of a parameter vector and knows nothing
about models. Per-observation functions ``f(theta) -> (n,)`` or ``(n, m)`` are
differentiated for all observations at once: one call of ``f`` per parameter
(complex step) or two (central differences), never a loop over observations.

Step sizes follow the usual error balance: complex step ``h = 1e-20 * max(|θ_j|, 1)``
(no subtractive cancellation, so the derivative is exact to rounding); central
differences ``h = ε^{1/3} max(|θ_j|, 1)``, optionally improved by one Richardson
extrapolation (error O(h⁴) instead of O(h²)).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "is_complex_safe",
    "jacobian",
    "gradient_obs",
    "hessian_from_gradient",
    "hessian_obs_from_gradient",
    "hessian_fd",
    "DerivativeCheck",
    "DerivativeChecks",
    "compare_derivatives",
]

_EPS = np.finfo(float).eps
_CS_STEP = 1e-20


def _steps(theta: np.ndarray, power: float, typ=None) -> np.ndarray:
    """Steps ε^power · max(|θ_j|, typ_j), and ε^power where both are 0.

    Without typical magnitudes ``typ`` the scale is |θ_j| itself (1 where θ_j = 0):
    parameters of size 1e-6 need steps of their own size, not of size 1 (NIST Kirby2,
    Hahn1, Misra1c). Callers that know a natural scale (a standard error, the starting
    values) pass it as ``typ`` so that a parameter that happens to be near 0 still gets a
    step the function can resolve.
    """
    a = np.abs(theta)
    if typ is not None:
        a = np.maximum(a, np.abs(np.broadcast_to(np.asarray(typ, dtype=float), a.shape)))
    return _EPS**power * np.where(a > 0, a, 1.0)


def _central(f: Callable, theta: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Central-difference Jacobian columns, stacked on the last axis."""
    cols = []
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h[j]
        cols.append((np.asarray(f(theta + e)) - np.asarray(f(theta - e))) / (2.0 * h[j]))
    return np.stack(cols, axis=-1)


def _complex_step(f: Callable, theta: np.ndarray) -> np.ndarray:
    h = _CS_STEP * np.maximum(np.abs(theta), 1.0)
    cols = []
    for j in range(theta.size):
        t = theta.astype(complex)
        t[j] += 1j * h[j]
        cols.append(np.imag(np.asarray(f(t))) / h[j])
    return np.stack(cols, axis=-1)


def is_complex_safe(f: Callable, theta: np.ndarray, *, rtol: float = 1e-5, typ=None) -> bool:
    """Whether ``f`` can be differentiated by complex step at ``theta``.

    ``f`` is complex-safe when it accepts a complex parameter vector, returns a complex
    array whose real part equals ``f(theta)``, and whose complex-step derivative agrees
    with central differences to ``rtol``. Functions such as ``np.abs``,
    ``np.maximum``, ``np.logaddexp`` or ``np.sign`` fail one of these checks, and any
    exception raised by ``f`` counts as "not safe" (the caller falls back to central
    differences).

    Examples
    --------
    >>> import numpy as np
    >>> is_complex_safe(lambda t: np.exp(t) * t[0], np.array([0.5, 1.0]))
    True
    >>> is_complex_safe(lambda t: np.abs(t - 1.0), np.array([0.5, 2.0]))
    False
    """
    theta = np.asarray(theta, dtype=float)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            base = np.asarray(f(theta), dtype=float)
            out = np.asarray(f(theta.astype(complex)))
            if not np.iscomplexobj(out) or out.shape != base.shape:
                return False
            if not np.allclose(out.real, base, rtol=1e-12, atol=0, equal_nan=False):
                return False
            cs = _complex_step(f, theta)
            fd = _central(f, theta, _steps(theta, 1.0 / 3.0, typ))
    except Exception:
        return False
    if not (np.all(np.isfinite(cs)) and np.all(np.isfinite(fd))):
        return False
    scale = np.maximum(np.abs(fd), np.max(np.abs(fd), initial=0.0) * 1e-6 + 1e-300)
    return bool(np.all(np.abs(cs - fd) <= rtol * scale + 1e-9))


def jacobian(
    f: Callable, theta: np.ndarray, *, method: str = "auto", richardson: bool = True, typ=None
) -> np.ndarray:
    """Jacobian of ``f`` at ``theta``; the derivative axis is last.

    ``f(theta)`` may return a scalar, a vector ``(m,)`` or per-observation values
    ``(n,)`` / ``(n, m)``; the result has shape ``f(theta).shape + (k,)``.

    Parameters
    ----------
    f : callable
        Function of a 1-d parameter vector.
    theta : array_like, shape (k,)
    method : {"auto", "complex", "central", "forward"}
        ``"auto"`` uses the complex step when :func:`is_complex_safe` says so; ``"forward"``
        (one-sided, error O(√ε)) is the cheapest, for curvature used only while optimising.
    richardson : bool
        For central differences, one Richardson extrapolation step.
    typ : array_like, optional
        Typical magnitudes of θ (e.g. standard errors); steps scale with max(|θ_j|, typ_j).

    Notes
    -----
    Complex step: ∂f/∂θ_j ≈ Im f(θ + i h e_j) / h with h = 1e-20 max(|θ_j|, 1).
    Central: D(h) = (f(θ + h e_j) − f(θ − h e_j)) / 2h with h = ε^{1/3} max(|θ_j|, 1);
    with Richardson, (4 D(h/2) − D(h)) / 3 and h = ε^{1/5} max(|θ_j|, 1).

    Examples
    --------
    >>> import numpy as np
    >>> jacobian(lambda t: t[0] ** 2 * t[1], np.array([2.0, 3.0]))
    array([12.,  4.])
    """
    theta = np.asarray(theta, dtype=float).ravel()
    if method not in ("auto", "complex", "central", "forward"):
        raise ValueError(f"unknown method {method!r}; allowed: 'auto', 'complex', 'central', "
                         "'forward'")
    if method == "forward":  # (f(θ + h e_j) − f(θ)) / h, h = √ε max(|θ_j|, typ_j): k + 1 calls
        h = _steps(theta, 0.5, typ)
        f0 = np.asarray(f(theta))
        cols = []
        for j in range(theta.size):
            e = np.zeros_like(theta)
            e[j] = h[j]
            cols.append((np.asarray(f(theta + e)) - f0) / h[j])
        return np.stack(cols, axis=-1)
    if method == "complex" or (method == "auto" and is_complex_safe(f, theta, typ=typ)):
        return _complex_step(f, theta)
    if richardson:
        h = _steps(theta, 0.2, typ)
        d1 = _central(f, theta, h)
        d2 = _central(f, theta, h / 2.0)
        return (4.0 * d2 - d1) / 3.0
    return _central(f, theta, _steps(theta, 1.0 / 3.0, typ))


def gradient_obs(loss_obs: Callable, theta: np.ndarray, *, method: str = "auto") -> np.ndarray:
    """Per-observation gradients ``(n, k)`` of ``loss_obs(theta) -> (n,)``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> gradient_obs(lambda t: (x - t[0]) ** 2, np.array([2.0]))[:, 0]
    array([ 2., -0., -2.])
    """
    return jacobian(loss_obs, theta, method=method)


def hessian_from_gradient(grad: Callable, theta: np.ndarray) -> np.ndarray:
    """Symmetrised Jacobian of a gradient function ``grad(theta) -> (k,)``.

    Uses complex step on ``grad`` when safe (exact to rounding), central differences
    with Richardson extrapolation otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> hessian_from_gradient(lambda t: np.array([2 * t[0] * t[1], t[0] ** 2]), np.array([1.0, 2.0]))
    array([[4., 2.],
           [2., 0.]])
    """
    h = jacobian(grad, theta)
    return 0.5 * (h + h.T)


def hessian_obs_from_gradient(grad_obs: Callable, theta: np.ndarray) -> np.ndarray:
    """Per-observation Hessians ``(n, k, k)`` from ``grad_obs(theta) -> (n, k)``."""
    h = jacobian(grad_obs, theta)
    return 0.5 * (h + np.swapaxes(h, 1, 2))


def hessian_fd(f: Callable, theta: np.ndarray) -> np.ndarray:
    """Hessian of a scalar (or per-observation ``(n,)``) function by second differences.

    Used only when neither gradient nor a complex-safe function is available:
    ``H_jl ≈ [f(θ+h_j+h_l) − f(θ+h_j−h_l) − f(θ−h_j+h_l) + f(θ−h_j−h_l)] / (4 h_j h_l)``
    with ``h = ε^{1/4} max(|θ|, 1)``. Returns ``f(theta).shape + (k, k)``.
    """
    theta = np.asarray(theta, dtype=float).ravel()
    k = theta.size
    h = _steps(theta, 0.25)
    f0 = np.asarray(f(theta), dtype=float)
    out = np.empty(f0.shape + (k, k))
    for j in range(k):
        ej = np.zeros(k)
        ej[j] = h[j]
        for m in range(j, k):
            em = np.zeros(k)
            em[m] = h[m]
            val = (
                np.asarray(f(theta + ej + em)) - np.asarray(f(theta + ej - em))
                - np.asarray(f(theta - ej + em)) + np.asarray(f(theta - ej - em))
            ) / (4.0 * h[j] * h[m])
            out[..., j, m] = val
            out[..., m, j] = val
    return out


@dataclass(frozen=True, repr=False)
class DerivativeCheck:
    """Outcome of comparing a supplied derivative with a numerical one.

    Attributes
    ----------
    name : str
        ``"score"`` or ``"hessian"``.
    max_abs_error, max_rel_error : float
        Largest absolute and relative discrepancies.
    worst : list of tuple
        The worst entries as ``(index, supplied, numerical, rel_error)``; the index is
        ``(observation, parameter)`` for a score and ``(row, column)`` for a Hessian.
    ok : bool
        Whether ``max_rel_error`` is below the tolerance used.
    """

    name: str
    max_abs_error: float
    max_rel_error: float
    worst: list
    ok: bool

    def __str__(self) -> str:
        lines = [
            f"{self.name}: {'OK' if self.ok else 'MISMATCH'} "
            f"(max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g})"
        ]
        for idx, sup, num, rel in self.worst:
            lines.append(f"  {idx}: supplied {sup:.10g}, numerical {num:.10g}, rel error {rel:.3g}")
        return "\n".join(lines)

    __repr__ = __str__


class DerivativeChecks(list):
    """The checks of every derivative a model supplies (a list of :class:`DerivativeCheck`).

    ``ok`` is True when every check passed; printed, one block per derivative.

    Examples
    --------
    >>> c = DerivativeChecks([DerivativeCheck("score", 1e-12, 1e-9, [], True)])
    >>> c.ok
    True
    >>> c
    score: OK (max abs error 1e-12, max rel error 1e-09)
    """

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self)

    def __str__(self) -> str:
        return "\n".join(str(c) for c in self)

    __repr__ = __str__


def compare_derivatives(
    name: str,
    supplied: np.ndarray,
    numerical: np.ndarray,
    *,
    labels: list | None = None,
    rtol: float = 1e-5,
    n_worst: int = 5,
) -> DerivativeCheck:
    """Compare two derivative arrays and name the worst entries.

    Relative error of an entry is ``|s − d| / max(|d|, 1e-8 · max|d|, 1e-12)``.
    ``labels`` names the last axis (parameter names).
    """
    supplied = np.asarray(supplied, dtype=float)
    numerical = np.asarray(numerical, dtype=float)
    if supplied.shape != numerical.shape:
        raise ValueError(
            f"{name}: supplied shape {supplied.shape} differs from numerical {numerical.shape}"
        )
    diff = np.abs(supplied - numerical)
    floor = max(1e-8 * float(np.max(np.abs(numerical), initial=0.0)), 1e-12)
    rel = diff / np.maximum(np.abs(numerical), floor)
    order = np.argsort(rel, axis=None)[::-1][:n_worst]
    worst = []
    for flat in order:
        idx = np.unravel_index(flat, rel.shape)
        if labels is not None:
            idx = tuple(idx[:-1]) + (labels[idx[-1]],)
        worst.append((tuple(int(i) if not isinstance(i, str) else i for i in idx),
                      float(supplied[np.unravel_index(flat, rel.shape)]),
                      float(numerical[np.unravel_index(flat, rel.shape)]),
                      float(rel.flat[flat])))
    max_rel = float(rel.max(initial=0.0))
    return DerivativeCheck(name, float(diff.max(initial=0.0)), max_rel, worst, max_rel <= rtol)
