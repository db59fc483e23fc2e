"""Newton-type optimisation of a smooth objective, knowing nothing about models.

:func:`newton` minimises f with a damped Newton method: a Newton step with a
backtracking (Armijo) line search where the Hessian is positive definite, and a
Levenberg–Marquardt step ``(H + μ D) s = −g`` (D the clipped diagonal of H) with an
adaptive μ (a trust-region in disguise) where it is not, or where the line search
stalls. Convergence is declared when a full, undamped Newton step changes every
parameter by less than ``xtol`` relative to its size, or when it no longer lowers f
beyond rounding. If that fails, ``fallback=True`` hands over to scipy's
``trust-exact`` (or ``trust-constr``) method before giving up.

:func:`root_newton` solves estimating equations ψ̄(θ) = 0 that need not be the
gradient of anything (Z-estimation), with the same damping, on the merit ½‖ψ̄‖².
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

__all__ = ["OptimizeResult", "newton", "root_newton"]

_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class OptimizeResult:
    """What the optimiser did.

    Attributes
    ----------
    x : ndarray
        The solution.
    fun : float
        Objective at ``x`` (``½‖ψ̄‖²`` for estimating equations).
    grad : ndarray
        Gradient (or ψ̄) at ``x``.
    converged : bool
    iterations : int
    grad_norm : float
        max |g_j| at ``x``.
    method : str
        ``"newton"``, ``"newton-lm"`` (some damped steps), or the fallback used.
    message : str
    history : list of float
        Objective values per iteration.
    """

    x: np.ndarray
    fun: float
    grad: np.ndarray
    converged: bool
    iterations: int
    grad_norm: float
    method: str
    message: str
    history: list = field(default_factory=list)


def _chol_solve(H: np.ndarray, g: np.ndarray) -> np.ndarray | None:
    """Newton step −H⁻¹g if H is positive definite (Cholesky succeeds), else None.

    numpy's LAPACK, not scipy's: the wheels bundle two OpenBLAS builds, and switching
    from numpy's (which just formed H) to scipy's stalls for 50–150 ms at random while
    the idle threads of one pool and the new threads of the other compete for the cores.
    """
    if not np.all(np.isfinite(H)):
        return None
    try:
        L = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return None
    s = np.linalg.solve(L.T, np.linalg.solve(L, -g))
    return s if np.all(np.isfinite(s)) else None


def _converged_step(x: np.ndarray, s: np.ndarray, xtol: float) -> bool:
    scale = np.maximum(np.abs(x), 1e-3 * np.max(np.abs(x), initial=0.0)) + 1e-300
    return bool(np.all(np.abs(s) <= xtol * scale))


def newton(
    f: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    hess: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    *,
    maxiter: int = 100,
    xtol: float = 1e-10,
    fallback: bool = True,
    callback: Callable | None = None,
) -> OptimizeResult:
    """Minimise ``f`` by damped Newton steps.

    Parameters
    ----------
    f, grad, hess : callable
        Objective, its gradient (k,) and Hessian (k, k). ``hess`` may be an
        approximation (e.g. Gauss–Newton); convergence is then linear near a
        non-zero-residual solution but the fixed point is the same.
    x0 : ndarray
        Starting values.
    maxiter : int
        Maximum Newton iterations.
    xtol : float
        Relative size of a full Newton step below which the iteration stops.
    fallback : bool
        Try scipy's trust-region methods if the Newton iteration fails.

    Returns
    -------
    OptimizeResult

    Notes
    -----
    Newton step s solves H s = −g. If H is not positive definite, or the Armijo
    search ``f(x + t s) ≤ f(x) + 1e-4 t gᵀs`` needs t < 1e-3, the step solves
    ``(H + μ D) s = −g`` with D = diag(max(|H_jj|, 1e-12 max|H_jj|)), and μ is updated
    from the ratio of actual to predicted reduction as in Levenberg–Marquardt.

    Examples
    --------
    >>> import numpy as np
    >>> f = lambda x: (x[0] - 1) ** 4 + (x[0] - x[1]) ** 2
    >>> g = lambda x: np.array([4 * (x[0] - 1) ** 3 + 2 * (x[0] - x[1]), -2 * (x[0] - x[1])])
    >>> h = lambda x: np.array([[12 * (x[0] - 1) ** 2 + 2, -2], [-2, 2]])
    >>> r = newton(f, g, h, np.array([3.0, 0.0]))
    >>> r.converged, np.round(r.x, 3)
    (True, array([1., 1.]))
    """
    x = np.asarray(x0, dtype=float).copy()
    fx = float(f(x))
    if not np.isfinite(fx):
        raise FloatingPointError(f"the objective is not finite at the starting values ({fx})")
    mu = 0.0
    used_lm = False
    history = [fx]
    message = "maximum number of iterations reached"
    converged = False
    it = 0
    for it in range(1, maxiter + 1):
        g = np.asarray(grad(x), dtype=float)
        H = np.asarray(hess(x), dtype=float)
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
            message = "gradient or Hessian not finite"
            break
        s = _chol_solve(H, g)
        if s is not None and _converged_step(x, s, xtol):
            xn = x + s
            fn = float(f(xn))
            if np.isfinite(fn) and fn <= fx + 8 * _EPS * abs(fx):
                x, fx = xn, fn
            converged, message = True, "relative Newton step below xtol"
            history.append(fx)
            break
        if s is not None and mu == 0.0:
            gs = float(g @ s)
            t = 1.0
            accepted = False
            while t >= 1e-3:
                xn = x + t * s
                fn = float(f(xn))
                if np.isfinite(fn) and fn <= fx + 1e-4 * t * gs:
                    accepted = True
                    break
                if t == 1.0 and np.isfinite(fn) and abs(fn - fx) <= 64 * _EPS * abs(fx) and \
                        np.linalg.norm(grad(xn)) < np.linalg.norm(g):
                    # at the rounding floor of f: judge the full step by the gradient instead
                    accepted = True
                    break
                t *= 0.5
            if accepted:
                if t == 1.0 and abs(fx - fn) <= 16 * _EPS * abs(fx) and _converged_step(x, s, 1e-9):
                    x, fx = xn, fn
                    converged, message = True, "no further decrease beyond rounding"
                    history.append(fx)
                    break
                x, fx = xn, fn
                history.append(fx)
                if callback is not None:
                    callback(x)
                continue
            mu = 1e-3
        # Levenberg–Marquardt step
        used_lm = True
        d = np.abs(np.diag(H))
        d = np.maximum(d, 1e-12 * max(d.max(initial=0.0), 1e-300))
        stepped = False
        for _ in range(60):
            s = _chol_solve(H + mu * np.diag(d), g)
            if s is None:
                mu = max(mu * 10.0, 1e-3)
                continue
            xn = x + s
            fn = float(f(xn))
            pred = -(g @ s + 0.5 * s @ H @ s)
            rho = (fx - fn) / pred if pred > 0 else -1.0
            if np.isfinite(fn) and fn < fx and rho > 1e-4:
                stepped = True
                mu = mu / 3.0 if rho > 0.75 else mu if rho > 0.25 else mu * 2.0
                if mu < 1e-10 or rho > 0.95:
                    mu = 0.0
                break
            mu *= 4.0
        if not stepped:
            if s is not None and _converged_step(x, s, 1e-9) and _chol_solve(H, g) is not None:
                converged, message = True, "no further decrease possible"
            elif _chol_solve(H, g) is None:
                message = ("stopped at a point where the Hessian is not positive definite "
                           "(a flat region or saddle), not a minimum")
            else:
                message = "line search and Levenberg–Marquardt damping failed to decrease the objective"
            break
        x, fx = xn, fn
        history.append(fx)
        if callback is not None:
            callback(x)
    g = np.asarray(grad(x), dtype=float)
    result = OptimizeResult(x, fx, g, converged, it, float(np.max(np.abs(g), initial=0.0)),
                            "newton-lm" if used_lm else "newton", message, history)
    if not converged and fallback:
        # restart from x0 when Newton ended somewhere flat (not a minimum)
        start = x if _chol_solve(np.asarray(hess(x), float), g) is not None else \
            np.asarray(x0, dtype=float)
        result = _scipy_fallback(f, grad, hess, start, maxiter, result)
    return result


def _scipy_fallback(f, grad, hess, x, maxiter, previous: OptimizeResult) -> OptimizeResult:
    best = previous
    for method in ("trust-exact", "trust-constr"):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                opts = {"maxiter": max(maxiter, 200)}
                if method == "trust-constr":
                    opts.update(gtol=1e-12, xtol=1e-14)
                else:
                    opts.update(gtol=1e-12)
                r = optimize.minimize(f, x, jac=grad, hess=hess, method=method, options=opts)
            except Exception:  # pragma: no cover - scipy internals
                continue
        if not np.isfinite(r.fun) or r.fun > best.fun:
            continue
        # polish and judge convergence with our own criterion
        polished = newton(f, grad, hess, r.x, maxiter=20, fallback=False)
        if polished.fun <= r.fun:
            xr, fr, conv = polished.x, polished.fun, polished.converged
        else:
            xr, fr, conv = r.x, float(r.fun), bool(r.success)
        g = np.asarray(grad(xr), dtype=float)
        best = OptimizeResult(xr, fr, g, conv, previous.iterations + int(r.nit) + polished.iterations,
                              float(np.max(np.abs(g), initial=0.0)), f"{previous.method}+{method}",
                              polished.message if conv else str(r.message),
                              previous.history + [fr])
        if conv:
            return best
    return best


def root_newton(
    psi: Callable[[np.ndarray], np.ndarray],
    jac: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    *,
    maxiter: int = 100,
    xtol: float = 1e-10,
    fallback: bool = True,
) -> OptimizeResult:
    """Solve ψ̄(θ) = 0 by damped Newton steps on the merit ½‖ψ̄‖².

    Parameters
    ----------
    psi : callable
        Mean estimating function, (k,).
    jac : callable
        Its Jacobian J = ∂ψ̄/∂θ, (k, k), not necessarily symmetric.

    Notes
    -----
    The Newton step solves J s = −ψ̄ (Gauss–Newton on ½‖ψ̄‖², whose gradient is Jᵀψ̄
    and Hessian approximation JᵀJ); damping and stopping are those of :func:`newton`.
    If Newton fails, ``scipy.optimize.root(method="hybr")`` is tried.

    Examples
    --------
    >>> import numpy as np
    >>> r = root_newton(lambda t: np.array([t[0] ** 3 - 8.0]), lambda t: np.array([[3 * t[0] ** 2]]),
    ...                 np.array([1.0]))
    >>> r.converged, round(float(r.x[0]), 10)
    (True, 2.0)
    """
    memo: dict = {}

    def cached(fn, name, x):
        key = (name, x.tobytes())
        if key not in memo:
            if len(memo) > 8:
                memo.clear()
            memo[key] = np.asarray(fn(x), dtype=float)
        return memo[key]

    def merit(x):
        p = cached(psi, "psi", x)
        return 0.5 * float(p @ p) if np.all(np.isfinite(p)) else np.inf

    def mgrad(x):
        return cached(jac, "jac", x).T @ cached(psi, "psi", x)

    def mhess(x):
        J = cached(jac, "jac", x)
        return J.T @ J

    x = np.asarray(x0, dtype=float).copy()
    res = newton(merit, mgrad, mhess, x, maxiter=maxiter, xtol=xtol, fallback=False)
    p = np.asarray(psi(res.x), dtype=float)
    if not res.converged and fallback:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            r = optimize.root(psi, res.x, jac=jac, method="hybr", options={"xtol": 1e-14})
        if r.success:
            polished = newton(merit, mgrad, mhess, r.x, maxiter=20, xtol=xtol, fallback=False)
            p = np.asarray(psi(polished.x), dtype=float)
            return OptimizeResult(polished.x, polished.fun, p, polished.converged,
                                  res.iterations + polished.iterations,
                                  float(np.max(np.abs(p), initial=0.0)), "newton+hybr",
                                  polished.message, res.history + polished.history)
    return OptimizeResult(res.x, res.fun, p, res.converged, res.iterations,
                          float(np.max(np.abs(p), initial=0.0)), res.method, res.message, res.history)
