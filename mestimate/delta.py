"""The delta method: standard errors of smooth functions of estimated parameters.

One function, :func:`delta_method`, and its immutable results,
:class:`DeltaMethodResults`. It works on plain numbers — a named parameter vector
and any covariance matrix — and knows nothing about models, so every covariance type
plugs in. ``phi`` is a string expression in parameter names (parsed safely by
:mod:`mestimate._expr`) or a callable of the parameters as a named pandas Series.
The Jacobian is analytic when supplied, else by complex step when ``phi`` survives
complex numbers, else by central differences with Richardson extrapolation
(:func:`mestimate.derivatives.jacobian`).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .derivatives import is_complex_safe, jacobian as numerical_jacobian
from .exceptions import InferenceWarning, MEstimateError, check_option
from ._expr import compile_expression

__all__ = ["delta_method", "DeltaMethodResults", "WaldTestResults", "make_phi"]

_JAC_LABELS = {"complex": "complex step", "central": "central differences", "analytic": "analytic"}


def _dist(df: float | None):
    return stats.norm if df is None else stats.t(df)


@dataclass(frozen=True)
class WaldTestResults:
    """Joint Wald test of ``φ(θ) = value``.

    Attributes
    ----------
    statistic : float
        χ² statistic ``W = dᵀ C⁺ d`` (d = φ(θ̂) − value, C = J V Jᵀ), or ``F = W / rank``.
    pvalue : float
    df_num : int
        Rank of C (the number of restrictions when C is non-singular).
    df_denom : float or None
        Denominator degrees of freedom of the F test; None for the χ² test.
    distribution : {"chi2", "F"}
    """

    statistic: float
    pvalue: float
    df_num: int
    df_denom: float | None
    distribution: Literal["chi2", "F"]

    def __str__(self) -> str:
        dfs = f"{self.df_num}" if self.df_denom is None else f"{self.df_num}, {self.df_denom:g}"
        return (f"Wald test ({self.distribution}): statistic = {self.statistic:.6g}, "
                f"df = {dfs}, p-value = {self.pvalue:.4g}")


@dataclass(frozen=True, repr=False, eq=False)
class DeltaMethodResults:
    """Estimates, covariance and tests of φ(θ̂), built once by :func:`delta_method`.

    Attributes
    ----------
    values : ndarray (m,)
        φ(θ̂).
    cov : ndarray (m, m)
        J V Jᵀ.
    jac : ndarray (m, k)
        J = ∇φ(θ̂).
    names, param_names : tuple of str
        Labels of the m functions and the k parameters.
    df : float or None
        Degrees of freedom for t / F inference; None for normal / χ².
    alpha : float
        Default significance level of confidence intervals.
    cov_type : str or None
        Label of the covariance of θ̂ (shown in summaries).
    jac_method : str
        ``"analytic"``, ``"complex step"`` or ``"central differences"``.
    """

    values: np.ndarray
    cov: np.ndarray
    jac: np.ndarray
    names: tuple[str, ...]
    param_names: tuple[str, ...]
    df: float | None = None
    alpha: float = 0.05
    cov_type: str | None = None
    jac_method: str = "analytic"

    def __post_init__(self) -> None:
        for field in ("values", "cov", "jac"):
            arr = np.array(getattr(self, field), dtype=float)
            arr.flags.writeable = False
            object.__setattr__(self, field, arr)

    @property
    def use_t(self) -> bool:
        """Whether t and F distributions are used (``df`` given)."""
        return self.df is not None

    @property
    def params(self) -> pd.Series:
        """φ(θ̂), indexed by the function names."""
        return pd.Series(self.values, index=list(self.names))

    def cov_params(self) -> pd.DataFrame:
        """Estimated covariance J V Jᵀ of φ(θ̂)."""
        return pd.DataFrame(self.cov, index=list(self.names), columns=list(self.names))

    @property
    def bse(self) -> pd.Series:
        """Standard errors, the square roots of the diagonal of J V Jᵀ."""
        with np.errstate(invalid="ignore"):
            return pd.Series(np.sqrt(np.diag(self.cov)), index=list(self.names))

    @property
    def tvalues(self) -> pd.Series:
        """φ(θ̂) / se: z statistics, or t statistics when ``df`` is given."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.params / self.bse

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of φ_i(θ) = 0 (normal, or t with ``df``)."""
        return pd.Series(2.0 * _dist(self.df).sf(np.abs(self.tvalues.to_numpy())),
                         index=list(self.names))

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Confidence intervals φ(θ̂) ± q_{1−α/2} se, columns ``lower`` and ``upper``."""
        alpha = _check_alpha(self.alpha if alpha is None else alpha)
        q = _dist(self.df).ppf(1.0 - alpha / 2.0)
        se = self.bse.to_numpy()
        return pd.DataFrame({"lower": self.values - q * se, "upper": self.values + q * se},
                            index=list(self.names))

    @property
    def jacobian(self) -> pd.DataFrame:
        """J = ∇φ(θ̂), functions in rows and parameters in columns."""
        return pd.DataFrame(self.jac, index=list(self.names), columns=list(self.param_names))

    def summary_frame(self, alpha: float | None = None) -> pd.DataFrame:
        """Table with columns coef, std err, z (or t), P>|z|, and the interval bounds."""
        alpha = _check_alpha(self.alpha if alpha is None else alpha)
        stat = "t" if self.use_t else "z"
        ci = self.conf_int(alpha).to_numpy()
        return pd.DataFrame({
            "coef": self.values, "std err": self.bse.to_numpy(),
            stat: self.tvalues.to_numpy(), f"P>|{stat}|": self.pvalues.to_numpy(),
            f"[{alpha / 2:g}": ci[:, 0], f"{1 - alpha / 2:g}]": ci[:, 1],
        }, index=list(self.names))

    def summary(self, alpha: float | None = None):
        """A :class:`statsmodels.iolib.summary.Summary` with the table and notes."""
        from statsmodels.iolib.summary import Summary
        from statsmodels.iolib.table import SimpleTable

        frame = self.summary_frame(alpha)
        cols = list(frame.columns)
        data = [[_fmt(v, c) for v, c in zip(row, cols)] for row in frame.to_numpy()]
        cov = self.cov_type if self.cov_type is not None else "as supplied"
        table = SimpleTable(data, headers=cols, stubs=[str(n) for n in frame.index],
                            title=f"Delta method (covariance: {cov})")
        smry = Summary()
        smry.tables.append(table)
        dist = f"t with {self.df:g} df" if self.use_t else "normal"
        smry.add_extra_txt([f"Jacobian: {self.jac_method}; inference: {dist}."])
        return smry

    def wald_test(self, value: float | Sequence[float] | None = None) -> WaldTestResults:
        """Joint Wald test of φ(θ) = value (default 0).

        Notes
        -----
        W = dᵀ C⁻¹ d with d = φ(θ̂) − value and C = J V Jᵀ, referred to χ²(m); with
        ``df`` given, F = W / m referred to F(m, df). A singular C (e.g. redundant
        functions) uses the pseudo-inverse over eigenvalues above 1e-10 · max, with
        the rank r in place of m, and warns.
        """
        m = len(self.values)
        target = np.zeros(m) if value is None else np.broadcast_to(
            np.asarray(value, dtype=float), (m,))
        d = self.values - target
        w, u = np.linalg.eigh(0.5 * (self.cov + self.cov.T))
        keep = w > 1e-10 * max(float(np.max(np.abs(w), initial=0.0)), 1e-300)
        rank = int(keep.sum())
        if rank == 0:
            raise MEstimateError("J V Jᵀ is zero: the Wald test is undefined "
                                 "(φ does not depend on the parameters)")
        if rank < m:
            warnings.warn(f"J V Jᵀ is singular (rank {rank} of {m}); the Wald test uses "
                          f"its pseudo-inverse and {rank} degrees of freedom",
                          InferenceWarning, stacklevel=2)
        z = u[:, keep].T @ d
        stat = float(np.sum(z**2 / w[keep]))
        if self.df is None:
            return WaldTestResults(stat, float(stats.chi2.sf(stat, rank)), rank, None, "chi2")
        f = stat / rank
        return WaldTestResults(f, float(stats.f.sf(f, rank, self.df)), rank, self.df, "F")

    def __repr__(self) -> str:
        cov = self.cov_type if self.cov_type is not None else "as supplied"
        return (f"DeltaMethodResults(m={len(self.values)}, k={len(self.param_names)}, "
                f"covariance={cov}, jacobian={self.jac_method})\n"
                + self.summary_frame().to_string())


def _fmt(v: float, col: str) -> str:
    return f"{v:.3f}" if col.startswith("P>") else f"{v:.4g}" if abs(v) >= 1e4 else f"{v:.4f}"


def _check_alpha(alpha: float) -> float:
    if not (isinstance(alpha, (int, float, np.floating)) and 0.0 < alpha < 1.0):
        raise MEstimateError(f"alpha must be a number in (0, 1), got {alpha!r}")
    return float(alpha)


def _as_params(params) -> tuple[np.ndarray, list[str]]:
    if isinstance(params, pd.Series):
        names = [str(i) for i in params.index]
        values = params.to_numpy()
    else:
        values = np.asarray(params)
        names = [f"x{j}" for j in range(values.size)]
    if values.ndim != 1 or values.size == 0:
        raise MEstimateError(f"params must be a non-empty 1-d vector, got shape {values.shape}")
    try:
        theta = values.astype(float)
    except (TypeError, ValueError):
        raise MEstimateError("params must be real numbers") from None
    if not np.all(np.isfinite(theta)):
        bad = [n for n, v in zip(names, theta) if not np.isfinite(v)]
        raise MEstimateError(f"params contain non-finite values: {bad}")
    if len(set(names)) != len(names):
        raise MEstimateError("params must have unique names (index)")
    return theta, names


def _as_cov(cov, names: list[str]) -> np.ndarray:
    k = len(names)
    if isinstance(cov, pd.DataFrame):
        rows, cols = [str(i) for i in cov.index], [str(c) for c in cov.columns]
        if set(rows) != set(names) or set(cols) != set(names):
            raise MEstimateError(
                "cov's index and columns must be the parameter names "
                f"{names[:10]}{'...' if k > 10 else ''}; got index {rows[:10]}")
        cov = cov.set_axis(rows, axis=0).set_axis(cols, axis=1).loc[names, names]
    v = np.asarray(cov, dtype=float)
    if v.shape != (k, k):
        raise MEstimateError(f"cov must be {k}x{k} to match params, got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise MEstimateError("cov contains non-finite values")
    if not np.allclose(v, v.T, rtol=1e-8, atol=1e-12 * max(np.abs(v).max(), 1e-300)):
        raise MEstimateError("cov must be symmetric (a covariance matrix of the parameters)")
    return 0.5 * (v + v.T)


class _SeriesCall:
    """Calls a user function with the parameters as a named Series; checks its output."""

    def __init__(self, func: Callable, names: list[str]) -> None:
        self.func = func
        self.index = pd.Index(names)
        self.shape: tuple[int, ...] | None = None
        self.labels: list[str] | None = None

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        out = self.func(pd.Series(theta, index=self.index))
        if isinstance(out, pd.Series) and self.labels is None:
            self.labels = [str(i) for i in out.index]
        arr = np.asarray(out)
        if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise MEstimateError(f"phi must return numbers, got {type(out).__name__} "
                                 f"with dtype {arr.dtype}")
        if arr.ndim > 1:
            raise MEstimateError(f"phi must return a scalar or a 1-d vector, got shape {arr.shape}")
        arr = arr.reshape(-1)
        if self.shape is None:
            self.shape = arr.shape
        elif arr.shape != self.shape:
            raise MEstimateError(f"phi returned shape {arr.shape} after {self.shape}: "
                                 "its output length must not depend on the parameter values")
        return arr


def make_phi(phi, names: list[str]) -> tuple[Callable, Callable[[], list[str] | None]]:
    """φ as ``(f, labels)``: ``f`` maps a parameter vector (real or complex) to an (m,) array.

    ``phi`` is a string expression or list of them (see :mod:`mestimate._expr`), or a callable
    of the params as a named Series; ``labels()`` gives the output names once ``f`` has run.
    Shared by :func:`delta_method` and the influence functions of φ.

    Examples
    --------
    >>> f, labels = make_phi("a / b", ["a", "b"])
    >>> f(np.array([1.0, 4.0])), labels()
    (array([0.25]), ['a / b'])
    """
    if isinstance(phi, str) or (isinstance(phi, (list, tuple)) and phi
                                and all(isinstance(p, str) for p in phi)):
        f = compile_expression(phi, names)
        return f, lambda: list(f.names)
    if callable(phi):
        f = _SeriesCall(phi, names)
        return f, lambda: f.labels
    raise MEstimateError("phi must be a string expression, a list of strings, or a callable "
                         f"taking the parameters as a pandas Series; got {type(phi).__name__}")


def _user_jacobian(jac, params: pd.Series, m: int) -> np.ndarray:
    j = np.asarray(jac(params) if callable(jac) else jac)
    k = params.size
    if j.ndim == 1 and m == 1:
        j = j.reshape(1, -1)
    if j.shape != (m, k):
        raise MEstimateError(f"jac must have shape ({m}, {k}) (functions x parameters)"
                             f"{' or (' + str(k) + ',)' if m == 1 else ''}, got {j.shape}")
    try:
        return j.astype(float)
    except (TypeError, ValueError):
        raise MEstimateError("jac must contain real numbers") from None


def delta_method(
    phi: str | Sequence[str] | Callable,
    params: pd.Series,
    cov: pd.DataFrame | np.ndarray,
    *,
    jac: Callable | np.ndarray | None = None,
    names: Sequence[str] | None = None,
    df: float | None = None,
    alpha: float = 0.05,
    cov_type: str | None = None,
    jac_method: Literal["auto", "complex", "central"] = "auto",
) -> DeltaMethodResults:
    """Standard errors, confidence intervals and a Wald test for φ(θ̂).

    Parameters
    ----------
    phi : str, list of str, or callable
        An expression in parameter names such as ``"hp / wt"`` or ``"b1/b2, exp(b3)"``
        (backticks quote names that are not identifiers, e.g. ```C(a)[T.b]```), a list
        of such strings, or a callable ``phi(p)`` of the parameters as a pandas Series
        (``p["lag1"]``) returning a scalar or a 1-d vector. Write callables with numpy
        functions so that they accept complex values (complex-step derivatives);
        otherwise central differences are used.
    params : pandas.Series
        Estimates θ̂, indexed by parameter names (an array gets names x0, x1, ...).
    cov : DataFrame or ndarray (k, k)
        Covariance V of θ̂, of any type (nonrobust, sandwich, cluster, HAC, ...).
    jac : callable or ndarray, optional
        Analytic Jacobian, ``jac(params) -> (m, k)`` (or ``(k,)`` when m = 1).
    names : sequence of str, optional
        Labels of the m functions (default: the expression texts, the index of a
        Series returned by ``phi``, or ``phi`` / ``phi[i]``).
    df : float, optional
        Degrees of freedom: t and F inference instead of normal and χ².
    alpha : float
        Default significance level for confidence intervals.
    cov_type : str, optional
        Label of the covariance, shown in the summary.
    jac_method : {"auto", "complex", "central"}
        How to differentiate ``phi`` when ``jac`` is not given.

    Returns
    -------
    DeltaMethodResults

    Raises
    ------
    MEstimateError
        If φ(θ̂) or its Jacobian is not finite, if φ returns an array that is not
        1-d or changes shape, or if ``jac`` has the wrong shape.

    Notes
    -----
    For smooth φ: R^k → R^m with Jacobian J = ∇φ(θ̂) (m × k),

        Var[φ(θ̂)] ≈ J Var[θ̂] Jᵀ,

    evaluated at θ̂ (see MATH.md). Standard errors are the square roots of the
    diagonal; intervals are φ(θ̂) ± q se with q the normal (or t(df)) quantile.
    Like R's ``car::deltaMethod`` and statsmodels' ``NonlinearDeltaCov``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> p = pd.Series([2.0, 4.0], index=["a", "b"])
    >>> res = delta_method("a / b", p, np.diag([0.01, 0.04]))
    >>> round(float(res.params["a / b"]), 6), round(float(res.bse["a / b"]), 6)
    (0.5, 0.035355)
    >>> res2 = delta_method(lambda q: np.exp(q["a"]), p, np.diag([0.01, 0.04]))
    >>> bool(np.isclose(res2.bse.iloc[0], np.exp(2.0) * 0.1))
    True
    """
    theta, pnames = _as_params(params)
    v = _as_cov(cov, pnames)
    alpha = _check_alpha(alpha)
    if df is not None and not (np.isfinite(df) and df > 0):
        raise MEstimateError(f"df must be a positive number or None, got {df!r}")
    f, get_labels = make_phi(phi, pnames)
    with np.errstate(all="ignore"):
        value = np.asarray(f(theta))
    if np.iscomplexobj(value):
        raise MEstimateError("phi returned complex values for real parameters")
    value = value.astype(float)
    m = value.size
    if m == 0 or not np.all(np.isfinite(value)):
        raise MEstimateError(f"phi(params) must be finite and non-empty, got {value}")
    p_series = pd.Series(theta, index=pnames)
    if jac is not None:
        j, method = _user_jacobian(jac, p_series, m), "analytic"
    else:
        method = check_option("jac_method", jac_method, ["auto", "complex", "central"])
        # standard errors are the natural scale of θ for difference steps
        typ = np.sqrt(np.clip(np.diag(v), 0.0, None))
        if method == "auto":
            method = "complex" if is_complex_safe(f, theta, typ=typ) else "central"
        with np.errstate(all="ignore"):
            j = numerical_jacobian(f, theta, method=method, typ=typ)
    if not np.all(np.isfinite(j)):
        raise MEstimateError(
            "the Jacobian of phi at params is not finite; phi may not be differentiable "
            "there — supply an analytic jac= or reparametrise")
    labels = _labels(names, get_labels(), m)
    cov_phi = j @ v @ j.T
    cov_phi = 0.5 * (cov_phi + cov_phi.T)
    _warn_variances(np.diag(cov_phi), labels)
    return DeltaMethodResults(value, cov_phi, j, tuple(labels), tuple(pnames), df=df,
                              alpha=alpha, cov_type=cov_type, jac_method=_JAC_LABELS[method])


def _labels(names: Sequence[str] | None, found: list[str] | None, m: int) -> list[str]:
    if names is not None:
        names = [names] if isinstance(names, str) else [str(n) for n in names]
        if len(names) != m:
            raise MEstimateError(f"names has {len(names)} labels but phi returns {m} values")
        return names
    if found is not None and len(found) == m:
        return found
    return ["phi"] if m == 1 else [f"phi[{i}]" for i in range(m)]


def _warn_variances(var: np.ndarray, labels: list[str]) -> None:
    neg = [n for n, x in zip(labels, var) if x < 0]
    zero = [n for n, x in zip(labels, var) if x == 0]
    if neg:
        warnings.warn(f"negative delta-method variance for {neg}: the covariance of the "
                      "parameters is not positive semi-definite", InferenceWarning, stacklevel=3)
    if zero:
        warnings.warn(f"zero standard error for {zero}: phi does not vary with the "
                      "parameters at params (or their covariance is zero)",
                      InferenceWarning, stacklevel=3)
