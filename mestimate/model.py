"""MEstimator: data plus a per-observation loss (or estimating function) → results.

The objective is the weighted mean loss (MATH.md)

    L̄_n(θ) = (1/n) Σ_t w_t L(z_t; θ),       n = #{t : w_t > 0},

so a weight of 0 deletes an observation and all-equal weights leave θ̂ unchanged.
Every sum over observations runs through :class:`mestimate._reduce.Reducer`.

Built-in models subclass :class:`MEstimator` and override ``loss_obs``,
``score_obs``, ``hessian`` and ``hessian_obs`` (each taking ``rows``, a slice of
observations, so that the reducer can work in chunks).
"""
from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from . import autodiff as ad
from . import derivatives as nd
from ._data import as_weights, handle_missing, nobs_of, take_rows
from ._derivative_choice import DerivativeChoice
from ._reduce import Reducer
from .exceptions import (
    ConvergenceError,
    ConvergenceWarning,
    LossError,
    MEstimateError,
    check_option,
)
from .optimize import OptimizeResult, newton, root_newton

__all__ = ["MEstimator"]


class MEstimator(DerivativeChoice):
    """An M-estimator defined by a per-observation loss, or a Z-estimator by ψ.

    Parameters
    ----------
    loss : callable, optional
        ``loss(params, data) -> (n,)``: the per-observation losses L(z_t; θ).
        Omit it (and give ``score``) for estimating equations that are not the
        gradient of a loss.
    data : ndarray, dict of arrays or DataFrame
        Observations along the first axis.
    score : callable, optional
        ``score(params, data) -> (n, k)``: per-observation gradients G(z_t; θ) of the
        loss, or the estimating functions ψ(z_t; θ) when there is no loss. Computed
        from the loss when omitted (see ``derivatives``).
    hessian : callable, optional
        ``hessian(params, data)`` returning the (k, k) Hessian of the *unweighted*
        mean loss, or (n, k, k) per-observation Hessians. Computed from the loss (or
        from ``score``) when omitted.
    param_names : sequence of str, optional
    start_params : array_like, optional
        Starting values; zeros by default.
    weights : array_like, optional
        Non-negative observation weights (0 removes a point).
    k_params : int, optional
        Number of parameters, when neither ``param_names`` nor ``start_params`` give it.
    missing : {"raise", "drop", "none"}
        What to do with rows holding NaN or inf.
    chunksize : int, optional
        Rows per chunk in sums over observations.
    derivatives : {"auto", "autodiff", "complex", "central"}
        How the derivatives that are not supplied are computed. ``"autodiff"``:
        forward-mode automatic differentiation of the numpy code of ``loss`` (or of
        ``score`` for the Hessian), exact and one evaluation per gradient and Hessian
        (:mod:`mestimate.autodiff`); ``"complex"``: complex step (k evaluations per
        gradient, exact to rounding; the loss must accept complex parameters);
        ``"central"``: central differences. ``"auto"`` takes the first of these that the
        loss supports, checked on up to 1,000 rows against the others.
    nonrobust : {"likelihood", "least_squares"}
        How ``cov_type="nonrobust"`` is scaled: the inverse information H⁻¹/n (the loss
        is a negative log-likelihood), or σ̂² H⁻¹/n with σ̂² = Σ w r² / (n − k) for a loss
        ½ r² (``residuals`` must then be available).

    Notes
    -----
    θ̂ = argmin_θ L̄_n(θ) is found by :func:`mestimate.optimize.newton`. Without a loss,
    θ̂ solves ψ̄(θ) = (1/n) Σ w_t ψ(z_t; θ) = 0 and the bread is the Jacobian of ψ̄.

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(3.0, 2.0, size=200)
    >>> res = me.MEstimator(lambda p, d: 0.5 * (d - p[0]) ** 2, y, param_names=["mu"],
    ...                     nonrobust="least_squares").fit()
    >>> bool(np.isclose(res.params["mu"], y.mean()))
    True
    """

    _nonrobust_kinds = ("likelihood", "least_squares")
    _dask_backed = False

    def __new__(cls, *args, **kwargs):
        # dask data: build the dask-backed subclass instead (mestimate._dask; issue 8)
        if not cls._dask_backed and (args or kwargs):
            from ._dask import contains_dask, dask_class
            if contains_dask(*args, *kwargs.values()):
                cls = dask_class(cls)
        return super().__new__(cls)

    def __init__(
        self,
        loss: Callable | None = None,
        data=None,
        *,
        score: Callable | None = None,
        hessian: Callable | None = None,
        param_names: Sequence[str] | None = None,
        start_params=None,
        weights=None,
        k_params: int | None = None,
        missing: str = "raise",
        chunksize: int | None = None,
        nonrobust: str = "likelihood",
        derivatives: str = "auto",
    ):
        if data is None:
            raise MEstimateError("data is required: an ndarray, a DataFrame or a dict of arrays")
        has_loss = loss is not None or self._overrides("loss_obs")
        if not has_loss and score is None and not self._overrides("score_obs"):
            raise MEstimateError("give a loss, or estimating functions as score= (or both)")
        self.nonrobust = check_option("nonrobust", nonrobust, self._nonrobust_kinds)
        self.derivatives = check_option("derivatives", derivatives,
                                        ("auto", "autodiff", "complex", "central"))
        n_raw = nobs_of(data)
        w = as_weights(weights, n_raw)
        data, w, self.n_dropped = handle_missing(data, missing, w)
        self.data = data
        self._user_loss, self._user_score, self._user_hessian = loss, score, hessian
        self.is_zestimator = not has_loss
        self.weights = w
        self._n_rows = nobs_of(data)
        self.nobs = int(self._n_rows if w is None else np.count_nonzero(w))
        self._reducer = self._make_reducer(self._n_rows, chunksize)
        self.param_names, self.start_params = self._resolve_params(param_names, start_params,
                                                                   k_params)
        self._derivative_method = "analytic"
        if not self._has_analytic_score():
            self._derivative_method = self._choose_numeric_method()
        # decided once here, so that fitting never changes the model
        self._score_autodiff = self._check_score_autodiff()
        self._score_complex_safe = not self._score_autodiff and self._check_score_complex()
        self._jet_row_bytes = self._measure_jet_row_bytes()
        self._validate_at_start()

    @classmethod
    def from_formula(cls, formula: str, data, *, loss: Callable | None = None, missing: str = "drop",
                     **kwargs) -> "MEstimator":
        """A generic M-estimator on a patsy design: ``loss(params, d)`` sees ``d["y"]``, ``d["X"]``.

        Parameters
        ----------
        formula : str
            e.g. ``"y ~ age + dose"``; the design's column names become the parameter names.
        data : DataFrame
        loss : callable
            ``loss(params, d) -> (n,)`` with ``d = {"y": (n,), "X": (n, k)}``; ``score=`` and
            ``hessian=`` take the same ``d``.
        missing : {"drop", "raise"}
        **kwargs
            Passed to :class:`MEstimator` (``score``, ``hessian``, ``weights``, ...).

        Examples
        --------
        >>> import numpy as np, pandas as pd, mestimate as me
        >>> df = pd.DataFrame({"y": [0.0, 1, 1, 3, 2, 5], "x": [0.0, 1, 2, 3, 4, 5]})
        >>> def loss(p, d):
        ...     eta = d["X"] @ p
        ...     return np.exp(eta) - d["y"] * eta
        >>> res = me.MEstimator.from_formula("y ~ x", df, loss=loss).fit()
        >>> list(res.params.index)
        ['Intercept', 'x']
        """
        from .formula import design_from_formula

        y, X, info = design_from_formula(formula, data, missing)
        model = cls(loss, {"y": y.to_numpy(float), "X": X.to_numpy(float)},
                    param_names=list(X.columns), **kwargs)
        model.n_dropped = info.n_dropped
        model.frame = info.frame
        model.formula = info
        return model

    # ------------------------------------------------------------------ setup
    def _resolve_params(self, names, start, k):
        if start is not None:
            start = np.asarray(start, dtype=float).ravel()
            if names is None and isinstance(start, pd.Series):
                names = list(start.index)
        if k is None:
            k = len(names) if names is not None else (start.size if start is not None else None)
        if k is None:
            raise MEstimateError("cannot tell how many parameters there are: pass param_names, "
                                 "start_params or k_params")
        if names is None:
            names = [f"theta{j}" for j in range(k)]
        names = [str(s) for s in names]
        if len(names) != k:
            raise MEstimateError(f"{len(names)} param_names for {k} parameters")
        if len(set(names)) != k:
            raise MEstimateError("param_names must be unique")
        if start is None:
            start = self._default_start_params(k)
        if start.shape != (k,):
            raise MEstimateError(f"start_params has {start.size} entries, expected {k}")
        if not np.all(np.isfinite(start)):
            raise MEstimateError("start_params must be finite")
        return names, start

    def _make_reducer(self, n: int, chunksize: int | None) -> Reducer:
        """The reducer of sums over observations (dask-backed models override it)."""
        return Reducer(n, chunksize)

    def _default_start_params(self, k: int) -> np.ndarray:
        return np.zeros(k)

    @classmethod
    def _overrides(cls, name: str) -> bool:
        return getattr(cls, name) is not getattr(MEstimator, name)

    def _has_analytic_score(self) -> bool:
        return self._user_score is not None or self._overrides("score_obs")

    @property
    def k_params(self) -> int:
        return len(self.param_names)

    @property
    def derivative_method(self) -> str:
        """How per-observation gradients are computed: ``"analytic"`` (supplied),
        ``"autodiff"`` (forward-mode automatic differentiation of the loss, exact),
        ``"complex"`` (complex step, exact to rounding) or ``"central"`` (differences)."""
        return self._derivative_method

    def _validate_at_start(self) -> None:
        p = self.start_params
        n, k = self._n_rows, self.k_params
        if not self.is_zestimator:
            self._check_array("loss", self.loss_obs(p), (n,))
        if self._user_score is not None:
            self._check_array("score", self.score_obs(p), (n, k))

    @staticmethod
    def _check_array(what: str, value, shape) -> np.ndarray:
        arr = np.asarray(value)
        if arr.shape != shape:
            hint = " (one row per observation)" if len(shape) else ""
            raise LossError(f"the {what} function returned shape {arr.shape}; expected {shape}{hint}")
        bad = ~np.isfinite(arr)
        if bad.any():
            first = np.unravel_index(int(np.flatnonzero(bad)[0]), arr.shape)
            raise LossError(
                f"the {what} function returned non-finite values at the starting values "
                f"({int(bad.sum())} entries, first at index {tuple(int(i) for i in first)}); "
                "check the data and the loss, or pass other start_params"
            )
        return arr

    # ------------------------------------------------------ per-observation API
    def _rows(self, rows):
        return take_rows(self.data, rows) if rows is not None else self.data

    def _w(self, rows) -> np.ndarray | None:
        return None if self.weights is None else self.weights[rows if rows is not None else slice(None)]

    def loss_obs(self, params, rows=None) -> np.ndarray:
        """Per-observation losses L(z_t; θ), shape (n,), for the observations ``rows``."""
        if self._user_loss is None:
            raise MEstimateError("this estimator was defined by estimating functions only; it has no loss")
        return np.asarray(self._user_loss(params, self._rows(rows)))

    def score_obs(self, params, rows=None) -> np.ndarray:
        """Per-observation gradients G(z_t; θ) (or estimating functions ψ), shape (n, k)."""
        if self._user_score is not None:
            out = np.asarray(self._user_score(params, self._rows(rows)))
            return out if np.iscomplexobj(out) else out.astype(float, copy=False)
        if self._derivative_method == "autodiff" and not np.iscomplexobj(params):
            g = self._jet(self._user_loss, params, rows, 1).grad
            return np.broadcast_to(g, g.shape[:1] + (self.k_params,)).astype(float)
        return nd.gradient_obs(lambda p: self.loss_obs(p, rows), np.asarray(params, float),
                               method=self._derivative_method)

    def hessian_obs(self, params, rows=None) -> np.ndarray:
        """Per-observation Hessians ∇∇L(z_t; θ), shape (n, k, k)."""
        if self._user_hessian is not None:
            h = np.asarray(self._user_hessian(params, self._rows(rows)), dtype=float)
            if h.ndim == 3:
                return h
        params = np.asarray(params, dtype=float)
        if self._derivative_method == "autodiff" and self._user_score is None:
            return ad.hessian_per_obs(self._jet(self._user_loss, params, rows, 2))
        if self._score_autodiff:
            h = np.asarray(self._jet(self._user_score, params, rows, 1).grad, dtype=float)
            return h if self.is_zestimator else 0.5 * (h + np.swapaxes(h, 1, 2))
        if self._derivative_method == "central" and self._user_score is None:
            return nd.hessian_fd(lambda p: self.loss_obs(p, rows), params)
        if self.is_zestimator:  # ∂ψ_t/∂θ is not symmetric for estimating equations
            return nd.jacobian(lambda p: self.score_obs(p, rows), params)
        return nd.hessian_obs_from_gradient(lambda p: self.score_obs(p, rows), params)

    # ------------------------------------------------------------- reductions
    def _wsum(self, values: np.ndarray, rows) -> np.ndarray:
        w = self._w(rows)
        return values.sum(axis=0) if w is None else np.tensordot(w, values, axes=(0, 0))

    def mean_loss(self, params) -> float:
        """L̄_n(θ) = (1/n) Σ w_t L(z_t; θ)."""
        return float(self._reducer.sum(lambda r: self._wsum(self.loss_obs(params, r), r))) / self.nobs

    def gradient(self, params) -> np.ndarray:
        """Ḡ_n(θ) = (1/n) Σ w_t G(z_t; θ) (the mean estimating function without a loss)."""
        if self._derivative_method == "autodiff" and self._user_score is None \
                and not np.iscomplexobj(params):
            return self._reducer.sum(lambda r: ad.gradient_sum(
                self._jet(self._user_loss, params, r, 1), self._w(r)),
                row_bytes=self._jet_chunk_bytes(8 * self.k_params)) / self.nobs
        return self._reducer.sum(lambda r: self._wsum(self.score_obs(params, r), r)) / self.nobs

    def hessian(self, params) -> np.ndarray:
        """H_n(θ): Hessian of the mean loss (Jacobian of ψ̄ for estimating equations)."""
        params = np.asarray(params, dtype=float)
        if self._user_hessian is not None:
            h = np.asarray(self._user_hessian(params, self.data), dtype=float)
            k = self.k_params
            if h.shape == (k, k) and self.weights is None:
                return h
            if h.shape == (self._n_rows, k, k):
                return self._wsum(h, None) / self.nobs
            if h.shape != (k, k):
                raise LossError(f"the hessian function returned shape {h.shape}; expected ({k}, {k}) "
                                f"or ({self._n_rows}, {k}, {k})")
            # a (k, k) Hessian cannot carry weights: differentiate the weighted gradient instead
        if self._derivative_method == "autodiff" and self._user_score is None:
            return self._reducer.sum(
                lambda r: ad.hessian_sum(self._jet(self._user_loss, params, r, 2), self._w(r)),
                row_bytes=self._jet_chunk_bytes(64 * self.k_params)) / self.nobs
        if self._score_autodiff:
            h = self._reducer.sum(
                lambda r: ad.jacobian_sum(self._jet(self._user_score, params, r, 1), self._w(r)),
                row_bytes=self._jet_chunk_bytes(2 * self.k_params**2)) / self.nobs
            return h if self.is_zestimator else 0.5 * (h + h.T)
        if self._derivative_method == "central" and self._user_score is None:
            return nd.hessian_fd(self.mean_loss, params)
        if self._score_complex_safe:
            # analytic score that accepts complex parameters: complex step, exact to rounding
            h = nd.jacobian(self.gradient, params, method="complex")
        else:
            # a complex-step or analytic gradient is exact to rounding, so plain central
            # differences of it are accurate to ~ε^(2/3); Richardson would double the cost
            h = nd.jacobian(self.gradient, params, method="central", richardson=False)
        return h if self.is_zestimator else 0.5 * (h + h.T)

    def bread(self, params) -> np.ndarray:
        """The bread H_n(θ̂) used for inference (the Hessian, unless a model documents otherwise)."""
        return self.hessian(params)

    def _results_bread(self, results) -> np.ndarray:
        """The bread of ``results`` (models may share work with other results quantities)."""
        return self.bread(results.params.to_numpy())

    def hessian_opt(self, params) -> np.ndarray:
        """The curvature used while optimising (the Hessian unless a model offers a cheaper one).

        For a loss differentiated by complex step, forward differences of the (exact) gradient:
        half the loss evaluations of the central differences used for the bread, and an
        O(√ε) error that changes the path of Newton's method, not its fixed point.
        """
        if self._derivative_method == "complex" and self._user_hessian is None \
                and not self._overrides("hessian"):
            h = nd.jacobian(self.gradient, np.asarray(params, dtype=float), method="forward")
            return 0.5 * (h + h.T)
        return self.hessian(params)

    # --------------------------------------------------------------- fitting
    def fit(
        self,
        start_params=None,
        *,
        maxiter: int = 100,
        xtol: float = 1e-10,
        fallback: bool = True,
        cov_type: str = "nonrobust",
        cov_kwds: dict | None = None,
        use_t: bool | None = None,
    ):
        """Estimate θ̂ and return an :class:`~mestimate.results.MEstimatorResults`.

        Parameters
        ----------
        start_params : array_like, optional
            Overrides the model's starting values.
        maxiter, xtol, fallback
            Passed to :func:`mestimate.optimize.newton`.
        cov_type : str
            Default covariance of the results (``"nonrobust"``, ``"HC0"``..., see
            :meth:`MEstimatorResults.cov_params`).
        cov_kwds : dict, optional
            Options of that covariance type.
        use_t : bool, optional
            t (with ``df_resid``) rather than normal inference; the model's default if None.

        The model is not modified.
        """
        from .results import MEstimatorResults

        x0 = self.start_params if start_params is None else np.asarray(start_params, float).ravel()
        if x0.shape != (self.k_params,):
            raise MEstimateError(f"start_params has {x0.size} entries, expected {self.k_params}")
        opt = self._optimize(x0, maxiter=maxiter, xtol=xtol, fallback=fallback)
        self._check_solution(opt)
        notes = []
        if not opt.converged:
            msg = (f"the optimiser did not converge after {opt.iterations} iterations ({opt.message}); "
                   f"max |gradient| = {opt.grad_norm:.3g}. Results are doubtful: try other "
                   "start_params or a larger maxiter.")
            warnings.warn(msg, ConvergenceWarning, stacklevel=2)
            notes.append(msg)
        return MEstimatorResults(self._fitted_model(opt), opt.x, opt=opt, cov_type=cov_type,
                                 cov_kwds=cov_kwds, use_t=use_t, notes=notes)

    def _check_solution(self, opt: OptimizeResult) -> None:
        """Model-specific checks of a solution before inference (e.g. separation)."""

    def _fitted_model(self, opt: OptimizeResult) -> "MEstimator":
        """The model the results refer to (a copy when fitting estimated a nuisance value)."""
        return self

    def nonrobust_cov(self, results) -> np.ndarray:
        """cov_type="nonrobust": scale · H⁻¹ / n (scale = σ̂² for least squares, 1 otherwise)."""
        from .influence import bread_inverse  # H⁻¹ computed once per results, shared

        return results.scale * bread_inverse(results) / results.nobs

    def _optimize(self, x0, *, maxiter, xtol, fallback) -> OptimizeResult:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                if self.is_zestimator:
                    return root_newton(self.gradient, self.hessian, x0, maxiter=maxiter, xtol=xtol,
                                       fallback=fallback)
                grad, hess = self.gradient, self.hessian_opt
                if self._derivative_method == "autodiff" and self._user_score is None \
                        and self._user_hessian is None and not self._overrides("hessian_opt") \
                        and not self._overrides("hessian"):
                    grad, hess = self._autodiff_pair()
                return newton(self._safe_mean_loss, grad, hess, x0,
                              maxiter=maxiter, xtol=xtol, fallback=fallback)
            except FloatingPointError as exc:
                raise ConvergenceError(str(exc)) from None

    def _safe_mean_loss(self, params) -> float:
        v = self.mean_loss(params)
        return v if np.isfinite(v) else np.inf

    def with_weights(self, weights) -> "MEstimator":
        """A copy of the model with other observation weights (the data are shared, not copied).

        Used for exact leave-one-out (weight 0), bootstrap and data-dropping refits.
        """
        new = copy.copy(self)
        new.weights = as_weights(weights, self._n_rows)
        new.nobs = int(self._n_rows if new.weights is None else np.count_nonzero(new.weights))
        return new

    def data_column(self, name: str) -> np.ndarray:
        """The column ``name`` of the data (DataFrame column or dict entry), row-aligned."""
        frame = getattr(self, "frame", None)
        for source in (frame, self.data):
            if isinstance(source, pd.DataFrame) and name in source.columns:
                return source[name].to_numpy()
            if isinstance(source, dict) and name in source:
                return np.asarray(source[name])
        raise MEstimateError(f"no column {name!r} in the model's data; pass the array itself")

    # ------------------------------------------------------------ diagnostics
    def check_derivatives(self, params=None, *, rtol: float = 1e-5, n_worst: int = 5):
        """Compare the supplied score and Hessian with numerical derivatives.

        Returns a :class:`~mestimate.derivatives.DerivativeChecks`, a list of
        :class:`~mestimate.derivatives.DerivativeCheck`, one per derivative the model
        supplies, naming the worst entries (observation, parameter) or (row, column);
        its ``ok`` says whether all passed.

        Examples
        --------
        >>> import numpy as np, mestimate as me
        >>> x = np.linspace(0, 1, 20)
        >>> m = me.MEstimator(lambda p, d: (d - p[0]) ** 2, x,
        ...                   score=lambda p, d: (-(d - p[0]))[:, None], k_params=1)
        >>> checks = m.check_derivatives(np.array([0.3]))   # the score forgot the factor 2
        >>> checks.ok, round(checks[0].max_rel_error, 6)
        (False, 0.5)
        """
        params = self.start_params if params is None else np.asarray(params, float).ravel()
        out = []
        if self._has_analytic_score() and not self.is_zestimator:
            num = nd.gradient_obs(lambda p: self.loss_obs(p), params)
            out.append(nd.compare_derivatives("score", self.score_obs(params), num,
                                              labels=self.param_names, rtol=rtol, n_worst=n_worst))
        if self._user_hessian is not None or self._overrides("hessian_obs"):
            supplied = self.hessian_obs(params)
            num = nd.hessian_obs_from_gradient(lambda p: self.score_obs(p), params)
            out.append(nd.compare_derivatives("hessian_obs", supplied, num, labels=self.param_names,
                                              rtol=max(rtol, 1e-6), n_worst=n_worst))
        if not out:
            raise MEstimateError("nothing to check: the model supplies no analytic derivatives")
        return nd.DerivativeChecks(out)

    def __repr__(self) -> str:
        kind = "Z-estimator" if self.is_zestimator else "M-estimator"
        return (f"<{type(self).__name__} ({kind}): nobs={self.nobs}, k_params={self.k_params}, "
                f"derivatives={self._derivative_method}>")
