"""The results of an M-estimation: built once, labelled with pandas, never wrapped.

Everything downstream of θ̂ is computed from two things the model provides
(R sandwich's design, DESIGN.md): :meth:`MEstimatorResults.estfun`, the n × k rows
ψ_t = w_t G(z_t; θ̂), and :meth:`MEstimatorResults.bread`, H_n(θ̂). Covariances,
influence, leave-one-out and the delta method consume those arrays and never the
model's internals.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy import linalg, stats

from ._identification import check_bread
from .exceptions import MEstimateError

__all__ = ["MEstimatorResults"]

_NONROBUST = "nonrobust"


def _fingerprint(v) -> tuple:
    """A cache key for an array-like option by content (an id() could be reused by a new
    object once the old one is freed, and would then return another array's covariance)."""
    if hasattr(v, "__dask_graph__"):
        return ("dask", getattr(v, "name", None) or id(v))
    if isinstance(v, pd.DataFrame):
        h = pd.util.hash_pandas_object(v, index=False).to_numpy()
        return ("frame", tuple(map(str, v.columns)), h.tobytes())
    arr = np.asarray(v)
    h = pd.util.hash_array(arr.ravel()) if arr.dtype.kind == "O" else arr
    return ("array", arr.shape, str(arr.dtype), np.ascontiguousarray(h).tobytes())


def _freeze(kwds: dict) -> tuple:
    out = []
    for k, v in sorted(kwds.items()):
        if isinstance(v, (np.ndarray, pd.Series, pd.DataFrame, list, tuple)) or \
                hasattr(v, "__dask_graph__"):
            v = _fingerprint(v)
        out.append((k, v))
    return tuple(out)


class MEstimatorResults:
    """Results of :meth:`MEstimator.fit`.

    Attributes
    ----------
    model : MEstimator
        The (unchanged) model.
    params : Series
        θ̂, labelled by parameter name.
    nobs : int
        Observations with positive weight.
    loss : float
        Mean loss L̄_n(θ̂) (``nan`` for estimating equations).
    converged, iterations, grad_norm, method
        What the optimiser did.
    cov_type : str
        Default covariance type of ``bse``, ``conf_int``, ``summary``...
    notes : tuple of str
        Doubts recorded during fitting (also issued as warnings).
    """

    def __init__(self, model, params, *, opt, cov_type: str = _NONROBUST, cov_kwds=None,
                 use_t: bool | None = None, notes=()):
        self.model = model
        self.params = pd.Series(np.asarray(params, dtype=float), index=model.param_names,
                                name="params")
        self._opt = opt
        self.converged = bool(opt.converged)
        self.iterations = int(opt.iterations)
        self.grad_norm = float(opt.grad_norm)
        self.method = opt.method
        self.nobs = model.nobs
        self.k_params = model.k_params
        self.df_resid = self.nobs - self.k_params
        self.n_dropped = getattr(model, "n_dropped", 0)
        self.use_t = bool(getattr(model, "_default_use_t", False) if use_t is None else use_t)
        self.notes = tuple(notes)
        self._cache: dict = {}
        check_bread(self.bread(), model.param_names, symmetric=not model.is_zestimator)
        self.cov_type, self.cov_kwds = self._canonical_cov(cov_type, dict(cov_kwds or {}))
        info = self._cov()[1]  # validates the default covariance now, not at first use
        self.cov_type = getattr(info, "cov_type", self.cov_type)

    # ------------------------------------------------------------ the basics
    @cached_property
    def loss(self) -> float:
        """Mean loss L̄_n(θ̂)."""
        return np.nan if self.model.is_zestimator else self.model.mean_loss(self.params.to_numpy())

    @property
    def param_names(self) -> list[str]:
        return list(self.params.index)

    def _labels(self) -> pd.Index:
        """The parameter labels for a new Series or frame: a view of ``params.index`` (a new
        Index object on the same data, so renaming one does not rename the others), not a new
        Index inferred from the names (4 times the cost of the rest of building a Series)."""
        return self.params.index.view()

    def _se(self) -> np.ndarray:
        """Standard errors under the default covariance type, as an array."""
        return np.sqrt(np.diag(self._cov()[0]))

    def estfun(self) -> np.ndarray:
        """Rows ψ_t = w_t G(z_t; θ̂), shape (n, k) (R sandwich's ``estfun``)."""
        if "estfun" not in self._cache:
            p = self.params.to_numpy()
            G = self.model._reducer.concat(lambda r: self.model.score_obs(p, r))
            if self.model.weights is not None:
                G = G * self.model.weights[:, None]
            self._cache["estfun"] = G
        return self._cache["estfun"]

    def bread(self) -> np.ndarray:
        """H_n(θ̂), the Hessian of the mean loss (MATH.md's bread; R's ``bread`` is its inverse)."""
        if "bread" not in self._cache:
            self._cache["bread"] = np.asarray(self.model._results_bread(self), dtype=float)
        return self._cache["bread"]

    def hessian_obs(self) -> np.ndarray:
        """Per-observation Hessians H_t = ∇∇L(z_t; θ̂), shape (n, k, k) (unweighted)."""
        if "hessian_obs" not in self._cache:
            p = self.params.to_numpy()
            k = self.k_params
            self._cache["hessian_obs"] = self.model._reducer.concat(
                lambda r: self.model.hessian_obs(p, r), row_bytes=8 * k * k * 3)
        return self._cache["hessian_obs"]

    def leverage(self) -> np.ndarray:
        """Generalised leverage h_t = w_t tr(H_t (Σ_s w_s H_s)⁻¹), the hat values for OLS/GLMs.

        Notes
        -----
        For a loss whose per-observation Hessian is rank one, H_t = v_t x_t x_tᵀ (least
        squares, GLMs with canonical link), this is w_t v_t x_tᵀ(XᵀVWX)⁻¹x_t, the usual hat
        value. Models may override with a cheaper formula (``model.leverage``).
        """
        if "leverage" not in self._cache:
            p = self.params.to_numpy()
            if hasattr(self.model, "leverage"):
                h = self.model.leverage(p)
            else:
                Hinv = linalg.inv(self.bread() * self.nobs)
                h = np.einsum("tij,ji->t", self.hessian_obs(), Hinv)
                if self.model.weights is not None:
                    h = h * self.model.weights
            self._cache["leverage"] = np.asarray(h, dtype=float)
        return self._cache["leverage"]

    def data_column(self, name: str) -> np.ndarray:
        """A column of the model's original data (for ``groups="firm"``-style options)."""
        return self.model.data_column(name)

    @cached_property
    def scale(self) -> float:
        """σ̂² = Σ w_t r_t² / (n − k) for least-squares losses (L = ½ r²); 1 otherwise."""
        if self.model.nonrobust != "least_squares":
            return 1.0
        p = self.params.to_numpy()
        r2 = 2.0 * self.model.loss_obs(p)
        w = self.model.weights
        return float((r2.sum() if w is None else w @ r2) / self.df_resid)

    # ------------------------------------------------------------ covariance
    def _canonical_cov(self, cov_type: str, kwds: dict):
        if cov_type is None:
            return self.cov_type, self.cov_kwds
        complete = getattr(self.model, "complete_cov_kwds", None)
        if complete is not None:  # model-specific defaults (e.g. HAC within sequences)
            cov_type, kwds = complete(cov_type, kwds)
        if isinstance(cov_type, str) and cov_type.lower() == _NONROBUST:
            if kwds:
                raise MEstimateError(f"cov_type 'nonrobust' takes no options, got {sorted(kwds)}")
            return _NONROBUST, {}
        if isinstance(cov_type, str) and cov_type.lower() == "bootstrap":
            from .covariance.bootstrap import check_bootstrap_kwds
            return "bootstrap", check_bootstrap_kwds(kwds)
        return cov_type, kwds

    def _cov(self, cov_type=None, kwds=None):
        cov_type, kwds = (self.cov_type, self.cov_kwds) if cov_type is None else \
            self._canonical_cov(cov_type, dict(kwds or {}))
        key = (cov_type, _freeze(kwds))
        if key not in self._cache:
            if cov_type == _NONROBUST:
                info = _NonrobustInfo(self.model.nonrobust, self.scale,
                                      getattr(self.model, "nonrobust_description", None))
                cov = np.asarray(self.model.nonrobust_cov(self), dtype=float)
            elif cov_type == "bootstrap":
                from .covariance.bootstrap import bootstrap_cov
                cov, info = bootstrap_cov(self, **kwds)
            else:
                from .covariance.dispatch import compute_cov
                if getattr(self.model, "_dask_backed", False):  # meats as dask reductions
                    from ._dask_cov import dask_cov as compute_cov
                cov, info = compute_cov(self, cov_type, **kwds)
            cov = 0.5 * (cov + cov.T)
            self._cache[key] = (cov, info)
            canonical = (getattr(info, "cov_type", cov_type), key[1])
            self._cache.setdefault(canonical, (cov, info))
        return self._cache[key]

    def cov_params(self, cov_type: str | None = None, **cov_kwds) -> pd.DataFrame:
        """Covariance matrix of θ̂ as a labelled DataFrame.

        Parameters
        ----------
        cov_type : str, optional
            ``"nonrobust"`` (H⁻¹/n, or σ̂² H⁻¹/n for least squares), ``"HC0"``
            (alias ``"sandwich"``), ``"HC1"``, ``"HC2"``, ``"HC3"``, ``"cluster"``,
            ``"HAC"`` or ``"bootstrap"``; the fit's default when omitted.
        **cov_kwds
            Options of that type (``groups=``, ``maxlags=``, ``kernel=``...).

        Notes
        -----
        Robust types are the sandwich H⁻¹ Var[Ḡ] H⁻¹ (MATH.md) with the meat chosen by
        ``cov_type``; see :mod:`mestimate.covariance`.
        """
        cov, _ = self._cov(cov_type, cov_kwds)
        return pd.DataFrame(cov, index=self._labels(), columns=self._labels())

    def cov_info(self, cov_type: str | None = None, **cov_kwds):
        """Description of a covariance type as used (bandwidth chosen, number of clusters...)."""
        return self._cov(cov_type, cov_kwds)[1]

    def _inference_df(self, info) -> float | None:
        if not self.use_t:
            return None
        df = getattr(info, "df", None)
        return float(df) if df is not None else float(self.df_resid)

    @property
    def bse(self) -> pd.Series:
        """Standard errors under the default covariance type."""
        return pd.Series(self._se(), index=self._labels(), name="bse")

    @property
    def tvalues(self) -> pd.Series:
        """θ̂ / se (z or t statistics)."""
        return pd.Series(self.params.to_numpy() / self._se(), index=self._labels(),
                         name="tvalues")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values, normal or t (with ``use_t``)."""
        df = self._inference_df(self._cov()[1])
        t = np.abs(self.params.to_numpy() / self._se())
        p = 2 * (stats.t.sf(t, df) if df is not None else stats.norm.sf(t))
        return pd.Series(p, index=self._labels(), name="pvalues")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Confidence intervals with columns ``lower`` and ``upper``."""
        if not 0 < alpha < 1:
            raise MEstimateError(f"alpha must be in (0, 1), got {alpha}")
        df = self._inference_df(self._cov()[1])
        q = stats.t.ppf(1 - alpha / 2, df) if df is not None else stats.norm.ppf(1 - alpha / 2)
        theta, se = self.params.to_numpy(), self._se()
        return pd.DataFrame({"lower": theta - q * se, "upper": theta + q * se},
                            index=self._labels())

    # ----------------------------------------------------------- downstream
    def delta_method(self, phi, *, jac=None, names=None, cov_type: str | None = None,
                     alpha: float = 0.05, **cov_kwds):
        """Delta-method inference for a smooth function φ(θ̂): see :func:`mestimate.delta.delta_method`.

        ``phi`` is a callable of the params Series, or a string such as ``"exp(dose)"``.
        The covariance is the fit's default unless ``cov_type`` is given.
        """
        from .delta import delta_method

        cov, info = self._cov(cov_type, cov_kwds)
        return delta_method(phi, self.params, cov, jac=jac, names=names,
                            df=self._inference_df(info), alpha=alpha,
                            cov_type=getattr(info, "description", None))

    def check_derivatives(self, **kwds):
        """The model's supplied derivatives against numerical ones, at θ̂."""
        return self.model.check_derivatives(self.params.to_numpy(), **kwds)

    def predict(self, exog=None, **kwds):
        """Predictions of a regression model at θ̂ (new ``exog`` or a DataFrame for formulas)."""
        if not hasattr(self.model, "predict"):
            raise MEstimateError(f"{type(self.model).__name__} has no predict; it is not a regression model")
        return self.model.predict(self.params.to_numpy(), exog, **kwds)

    @property
    def fittedvalues(self):
        return self.predict()

    @property
    def resid(self):
        if not hasattr(self.model, "resid"):
            raise MEstimateError(f"{type(self.model).__name__} defines no residuals")
        return self.model.resid(self.params.to_numpy())

    # influence, leave-one-out and sensitivity live in their own modules
    def influence(self, **kwds):
        """Influence functions I(z_t) = −H⁻¹G(z_t): see :func:`mestimate.influence.influence`."""
        from .influence import influence
        if self.model._dask_backed:  # lazy dask arrays (mestimate._dask_influence)
            from ._dask_influence import influence
        return influence(self, **kwds)

    def influence_on(self, phi, **kwds):
        """First-order effect of each point on φ(θ): see :func:`mestimate.influence.influence_on`."""
        from .influence import influence_on
        if self.model._dask_backed:
            from ._dask_influence import influence_on
        return influence_on(self, phi, **kwds)

    def loo_params(self, method: str = "newton", **kwds):
        """Leave-one-out estimates: see :func:`mestimate.loo.loo_params`."""
        from .loo import loo_params
        if self.model._dask_backed:
            from ._dask_influence import loo_params
        return loo_params(self, method=method, **kwds)

    def loo_accuracy(self, **kwds):
        """IJ and Newton-step LOO against exact LOO: see :func:`mestimate.loo.loo_accuracy`."""
        from .loo import loo_accuracy
        return loo_accuracy(self, **kwds)

    def influence_summary(self, **kwds):
        """dfbeta, dfbetas, Cook's distance, leverage...: see :func:`mestimate.diagnostics.influence_summary`."""
        from .diagnostics import influence_summary
        return influence_summary(self, **kwds)

    def sensitivity(self, target, **kwds):
        """Data-dropping sensitivity (AMIP): see :func:`mestimate.sensitivity.sensitivity`."""
        from .sensitivity import sensitivity
        return sensitivity(self, target, **kwds)

    def refit(self, weights=None, start_params=None, **fit_kwds):
        """Refit the same model with other observation weights, warm-started from θ̂."""
        model = self.model.with_weights(weights)
        x0 = self.params.to_numpy() if start_params is None else start_params
        fit_kwds.setdefault("cov_type", self.cov_type)
        fit_kwds.setdefault("cov_kwds", self.cov_kwds)
        return model.fit(start_params=x0, **fit_kwds)

    # -------------------------------------------------------------- display
    def summary_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """Coefficient table as a DataFrame (coef, std err, z or t, P>|z|, CI)."""
        ci = self.conf_int(alpha)
        stat = "t" if self.use_t else "z"
        return pd.DataFrame({
            "coef": self.params, "std err": self.bse, stat: self.tvalues,
            f"P>|{stat}|": self.pvalues,
            f"[{alpha / 2:g}": ci["lower"], f"{1 - alpha / 2:g}]": ci["upper"]})

    def summary(self, alpha: float = 0.05, title: str | None = None):
        """A statsmodels ``Summary`` (``print`` it, or ``.as_html()`` / ``.as_latex()``)."""
        from .summary import make_summary
        return make_summary(self, alpha=alpha, title=title)

    def __repr__(self) -> str:
        conv = "converged" if self.converged else "NOT converged"
        params = ", ".join(f"{k}={v:.4g}" for k, v in list(self.params.items())[:6])
        more = ", ..." if self.k_params > 6 else ""
        return (f"<{type(self).__name__} of {type(self.model).__name__}: nobs={self.nobs}, "
                f"{conv}, cov_type={self.cov_type!r}; {params}{more}>")

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state


class _NonrobustInfo:
    """Description of the nonrobust covariance for summaries."""

    def __init__(self, kind: str, scale: float, description: str | None = None):
        self.cov_type = _NONROBUST
        self.kwds = {}
        self.df = None
        self.n_groups = None
        self.description = description or (
            "nonrobust (σ̂² H⁻¹/n)" if kind == "least_squares"
            else "nonrobust (inverse information H⁻¹/n)")
