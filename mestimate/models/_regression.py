"""Shared machinery of the built-in regression models: endog/exog, formulas, prediction.

A regression model has a response y (n,) and a design X (n, k) and its loss depends
on θ through the linear index η = Xθ (plus a model-specific part). Losses whose
per-observation Hessian is ``v_t x_t x_tᵀ`` (least squares, canonical GLMs) get the
Hessian, leverage and Newton-step leave-one-out in O(n k²) with no n × k × k array.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .._data import as_weights, handle_missing
from .._reduce import Reducer
from ..exceptions import ConvergenceError, DataError
from ..formula import FormulaInfo, design_for_predict, design_from_formula
from ..model import MEstimator
from ..optimize import newton

__all__ = ["RegressionModel", "IndexModel"]


_XTVX_BLOCK_BYTES = 1 << 20   # rows of X scaled at a time: ~1 MB, reused


def _xtvx(X: np.ndarray, v: np.ndarray) -> np.ndarray:
    """XᵀVX; for v ≥ 0 as (√v X)ᵀ(√v X), which numpy hands to BLAS syrk (half the work).

    The scaled rows are formed block by block in one reused buffer of about 1 MB (at
    least 4k rows), not as one n × k temporary: at n = 200,000, k = 30 that was a 48 MB
    array allocated (and page-faulted in) on every Newton iteration, and the blocks run
    25% faster.
    """
    n, k = X.shape
    # at least 4k rows a block, so that the k × k sums stay small beside the products
    m = max(1, min(n, max(_XTVX_BLOCK_BYTES // (8 * max(k, 1)), 4 * k)))
    nonneg = bool(np.all(v >= 0))
    s = np.sqrt(v) if nonneg else v
    out = np.zeros((k, k))
    buf = np.empty((m, k))
    for a in range(0, n, m):
        b = min(a + m, n)
        Xs = buf[: b - a]
        np.multiply(X[a:b], s[a:b, None], out=Xs)
        out += Xs.T @ (Xs if nonneg else X[a:b])
    return out


class RegressionModel(MEstimator):
    """Base class: ``Model(endog, exog, *, weights=None, missing="raise", ...)``.

    Subclasses implement ``loss_obs``, ``score_obs``, ``hessian_obs`` in terms of
    ``self.endog`` and ``self.exog``.
    """

    _default_use_t = False

    def __init__(self, endog, exog, *, weights=None, missing: str = "raise", start_params=None,
                 chunksize: int | None = None, formula: FormulaInfo | None = None, **kwargs):
        y, X = self._as_endog_exog(endog, exog)
        # hasattr: dask DataFrames have columns too (mestimate._dask)
        names = [str(c) for c in exog.columns] if hasattr(exog, "columns") else \
            [f"x{j}" if j or not np.allclose(X[:, 0], 1) else "const" for j in range(X.shape[1])]
        self.endog_name = str(getattr(endog, "name", None) or "y")
        self.exog_names = names
        self.formula = formula
        self._row_index = endog.index if isinstance(endog, pd.Series) else None
        data = {"y": y, "X": X}
        w = as_weights(weights, y.shape[0]) if weights is not None else None
        data, w, dropped = handle_missing(data, missing, w)
        self.endog, self.exog = data["y"], data["X"]
        self._validate_endog(self.endog)
        super().__init__(None, data, param_names=names, start_params=start_params, weights=w,
                         missing="none", chunksize=chunksize, **kwargs)
        self.n_dropped = dropped + (formula.n_dropped if formula is not None else 0)
        self.frame = formula.frame if formula is not None else None

    def _as_endog_exog(self, endog, exog) -> tuple[np.ndarray, np.ndarray]:
        """(y (n,), X (n, k)) as float arrays (dask-backed models keep dask arrays)."""
        y = np.asarray(endog, dtype=float)
        X = np.asarray(exog, dtype=float)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if X.ndim == 1:
            X = X[:, None]
        if y.ndim != 1 or X.ndim != 2 or X.shape[0] != y.shape[0]:
            raise DataError(f"endog must be (n,) and exog (n, k) with the same n; got {np.shape(endog)} "
                            f"and {np.shape(exog)}")
        return y, X

    def _validate_endog(self, y: np.ndarray) -> None:
        """Model-specific checks of the response (e.g. 0/1 for Logit)."""

    @classmethod
    def from_formula(cls, formula: str, data, *, missing: str = "drop", **kwargs):
        """Build the model from a patsy formula on a DataFrame.

        Parameters
        ----------
        formula : str
            e.g. ``"y ~ x + C(industry)"``.
        data : DataFrame
        missing : {"drop", "raise"}
            Rows with missing values in the formula's variables are dropped (their
            number is shown in the summary) or raise an error.
        **kwargs
            Passed to the constructor (``weights`` may be a column name).
        """
        from .._dask import is_dask
        if is_dask(data):  # dask DataFrame: design built per partition (mestimate._dask_formula)
            from .._dask_formula import design_from_dask, frame_column
            y, X, info = design_from_dask(formula, data, missing)
        else:
            y, X, info = design_from_formula(formula, data, missing)
        w = kwargs.pop("weights", None)
        if isinstance(w, str):
            w = frame_column(info.frame, w) if is_dask(data) else info.frame[w].to_numpy(float)
        elif w is not None and len(w) == len(data):
            w = np.asarray(w, float)[pd.Index(pd.DataFrame(data).index).get_indexer(y.index)]
        return cls(y, X, weights=w, formula=info, **kwargs)

    # ---------------------------------------------------------------- helpers
    def linear_index(self, params, rows=None) -> np.ndarray:
        """η = Xθ for the observations ``rows``."""
        X = self.exog if rows is None else self.exog[rows]
        return X @ params

    def _exog_for_predict(self, exog):
        if exog is None:
            return self.exog
        if self.formula is not None and isinstance(exog, (pd.DataFrame, dict)):
            return design_for_predict(self.formula, exog).to_numpy(float)
        X = np.asarray(exog, dtype=float)
        return X[None, :] if X.ndim == 1 else X

    def predict(self, params, exog=None, **kwargs) -> np.ndarray:
        """Linear predictor Xθ (subclasses map it to the mean)."""
        return self._exog_for_predict(exog) @ np.asarray(params, float)

    def data_column(self, name: str) -> np.ndarray:
        if self.frame is not None and name in self.frame.columns:
            return self.frame[name].to_numpy()
        raise DataError(f"no column {name!r}: column names work for models built with from_formula;"
                        " otherwise pass the array itself")


class IndexModel(RegressionModel):
    """A loss ℓ(y_t, η_t) of the linear index η_t = x_tᵀθ.

    Subclasses define ``_loss(y, eta)``, ``_d1(y, eta)`` = ∂ℓ/∂η and ``_d2(y, eta)`` = ∂²ℓ/∂η².
    Then G_t = d1_t x_t, H_t = d2_t x_t x_tᵀ, and the generalised leverage is the usual hat
    value h_t = w_t d2_t x_tᵀ (Σ_s w_s d2_s x_s x_sᵀ)⁻¹ x_t.
    """

    def _loss(self, y, eta):  # pragma: no cover - abstract
        raise NotImplementedError

    def _d1(self, y, eta):  # pragma: no cover - abstract
        raise NotImplementedError

    def _d1_inplace(self, y, eta):
        """Overwrite ``eta`` with ℓ'(y, η) and return it: for loops that reuse one large
        buffer instead of allocating (and page-faulting in) a new n × B array per pass.
        Subclasses override it where the derivative can be formed in place."""
        eta[...] = self._d1(y, eta)
        return eta

    def _d2(self, y, eta):  # pragma: no cover - abstract
        raise NotImplementedError

    def _index_sums(self, eta, parts: str = "fgh", rows=None, derivs=None) -> list:
        """Unnormalised Σ w ℓ ("f"), Xᵀ(w ℓ') ("g") and Xᵀ diag(w ℓ'') X ("h") at the index
        η of the observations ``rows``: the one place that turns ℓ, ℓ', ℓ'' into sums
        (the in-memory Newton path and the dask partitions both use it). ``derivs``:
        (ℓ', ℓ'') at η when the caller has them."""
        sl = slice(None) if rows is None else rows
        y, X, w = self.endog[sl], self.exog[sl], self._w(rows)
        out = []
        if "f" in parts:
            v = self._loss(y, eta)
            out.append(v.sum() if w is None else w @ v)
        if derivs is not None:
            d1, d2 = derivs
        elif "g" in parts and "h" in parts:
            d1, d2 = self._d1_d2(y, eta)
        else:
            d1 = self._d1(y, eta) if "g" in parts else None
            d2 = self._d2(y, eta) if "h" in parts else None
        if "g" in parts:
            out.append(X.T @ (d1 if w is None else d1 * w))
        if "h" in parts:
            out.append(_xtvx(X, d2 if w is None else d2 * w))
        return out

    def _d1_d2(self, y, eta):
        """(∂ℓ/∂η, ∂²ℓ/∂η²) together (models override to share work, e.g. one expit)."""
        return self._d1(y, eta), self._d2(y, eta)

    def loss_obs(self, params, rows=None):
        sl = slice(None) if rows is None else rows
        return self._loss(self.endog[sl], self.linear_index(params, sl))

    def score_obs(self, params, rows=None):
        sl = slice(None) if rows is None else rows
        return self._d1(self.endog[sl], self.linear_index(params, sl))[:, None] * self.exog[sl]

    def hessian_obs(self, params, rows=None):
        sl = slice(None) if rows is None else rows
        X = self.exog[sl]
        d2 = self._d2(self.endog[sl], self.linear_index(params, sl))
        return d2[:, None, None] * X[:, :, None] * X[:, None, :]

    def _curvature_weights(self, params, rows=None) -> np.ndarray:
        sl = slice(None) if rows is None else rows
        d2 = self._d2(self.endog[sl], self.linear_index(params, sl))
        w = self._w(rows)
        return d2 if w is None else d2 * w

    def _results_bread(self, results) -> np.ndarray:
        """Xᵀ diag(w d2) X / n from the ℓ'' at θ̂ that influence and leave-one-out reuse
        (:func:`mestimate.influence.index_derivatives`), when this model's bread is the
        plain in-memory Hessian; otherwise the generic path."""
        plain = (type(self).hessian is IndexModel.hessian and type(self).bread is MEstimator.bread
                 and type(self._reducer) is Reducer and self._reducer.chunksize is None)
        if not plain:
            return super()._results_bread(results)
        from ..influence import index_derivatives

        d2 = index_derivatives(results)[1]
        w = self.weights
        return _xtvx(self.exog, d2 if w is None else d2 * w) / self.nobs

    def hessian(self, params):
        params = np.asarray(params, dtype=float)

        def part(rows):
            return self._index_sums(self.linear_index(params, rows), "h", rows)[0]

        return self._reducer.sum(part) / self.nobs

    def _optimize(self, x0, *, maxiter, xtol, fallback):
        """Newton on the index: η = Xθ is computed once per trial point and shared by the
        loss, gradient and Hessian (in memory, unchunked); otherwise the generic path."""
        if type(self._reducer) is not Reducer or self._reducer.chunksize is not None:
            return super()._optimize(x0, maxiter=maxiter, xtol=xtol, fallback=fallback)
        offset = self.linear_index(np.zeros_like(x0))  # whatever the model adds to Xθ
        last: dict = {}

        def eta(p):
            key = p.tobytes()
            if last.get("key") != key:
                last.clear()
                last["key"], last["eta"] = key, self.exog @ p + offset
            return last["eta"]

        def f(p):
            val = self._index_sums(eta(p), "f")[0] / self.nobs
            return val if np.isfinite(val) else np.inf

        def derivs(p):
            # Newton asks for the Hessian right after the gradient at the same point: ℓ' and
            # ℓ'' come from one evaluation (one expit for a logit), kept for h(p)
            e = eta(p)
            if "derivs" not in last:
                last["derivs"] = self._d1_d2(self.endog, e)
            return e, last["derivs"]

        def g(p):
            e, d = derivs(p)
            return self._index_sums(e, "g", derivs=d)[0] / self.nobs

        def h(p):
            e, d = derivs(p)
            return self._index_sums(e, "h", derivs=d)[0] / self.nobs

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                return newton(f, g, h, x0, maxiter=maxiter, xtol=xtol, fallback=fallback)
            except FloatingPointError as exc:
                raise ConvergenceError(str(exc)) from None

    def leverage(self, params) -> np.ndarray:
        """Hat values h_t = w_t d2_t x_tᵀ(XᵀVX)⁻¹x_t (``hatvalues`` in R for lm/glm)."""
        params = np.asarray(params, dtype=float)
        # numpy's LAPACK after numpy's BLAS formed the Hessian (see optimize._chol_solve)
        hinv = np.linalg.inv(self.hessian(params) * self.nobs)
        v = self._curvature_weights(params)
        return v * np.einsum("ij,ij->i", self.exog @ hinv, self.exog)
