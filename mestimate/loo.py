"""Leave-one-out (and leave-one-group-out) estimates three ways: IJ, Newton step, exact.

With weights w_t and A = n H_n(θ̂) = Σ_s w_s H_s (MATH.md), leaving out the unit g
(one observation, or every observation of a group) gives

* ``"ij"``     θ̂ + A⁻¹ G_g,                 G_g = Σ_{t∈g} w_t G(z_t; θ̂);
* ``"newton"`` θ̂ + (A − H_g)⁻¹ G_g,          H_g = Σ_{t∈g} w_t H_t: one Newton step on the
  leave-out objective from θ̂, exact for least squares;
* ``"exact"``  the minimiser with the unit's weights set to 0, warm-started from θ̂.

For models whose loss is a function of a linear index (:class:`IndexModel`: OLS,
Logit, Poisson) H_t = d2_t x_t x_tᵀ is rank one and the Newton step is Sherman–Morrison,
θ̂ + w_t d1_t A⁻¹x_t / (1 − h_t) with h_t the leverage; the exact refits run *batched*
over blocks of left-out units: chord steps from the Newton-step estimates with the
leave-out Hessians at θ̂ (Sherman–Morrison again; one matrix product gives all the
gradients of a block), and damped Newton for the few units they do not settle. Other
models use stacked per-point solves for the Newton step and a loop of warm-started
refits for exact LOO.

Design note: the result is a plain DataFrame (units × parameters); the exact method
stores per-unit convergence in ``frame.attrs["converged"]`` (a boolean array) and
warns, naming the units whose refit failed, instead of hiding them.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .exceptions import (
    ConvergenceWarning,
    IdentificationError,
    InferenceWarning,
    MEstimateError,
    check_option,
)
from ._loo_exact import index_exact
from ._loo_units import (
    UNIDENTIFIED,
    Units,
    index_leave_out_scale,
    make_units,
    singular,
    unit_hessians,
)
from .influence import (
    bread_solve,
    group_sum,
    index_derivatives,
    index_xhinv,
    is_index_model,
    labelled_frame,
    score_rows,
    weights_or_ones,
)

__all__ = ["loo_params", "loo_accuracy", "LooAccuracy"]

_METHODS = ("newton", "ij", "exact")


def loo_params(res, method: str = "newton", groups=None, *, points=None,
               on_singular: str = "raise", maxiter: int = 50, xtol: float = 1e-10,
               progress: bool | None = None) -> pd.DataFrame:
    """Estimates with each observation (or group) left out.

    Parameters
    ----------
    res : MEstimatorResults
    method : {"newton", "ij", "exact"}
        Newton step (approximate leave-one-out, exact for least squares), the
        infinitesimal jackknife, or exact refits.
    groups : array_like or str, optional
        One label per observation (or a column name of a formula model's data):
        leave out whole groups. Rows are then the sorted group labels.
    points : sequence, optional
        Only these units (row labels, or group labels with ``groups``).
    on_singular : {"raise", "nan"}
        What to do when leaving out a unit leaves the model unidentified (A − H_g
        singular): raise :class:`IdentificationError` naming the units, or return
        NaN rows for them with an :class:`InferenceWarning`.
    maxiter, xtol : int, float
        Iterations and relative tolerance of the exact refits. The batched refits of
        regression models stop once the error estimated from successive chord steps is
        below 0.001·xtol, or after a Newton step below 0.01·√xtol (an error of order
        step²).
    progress : bool, optional
        Progress bar (tqdm, when installed) for a loop of generic refits; by default
        shown for more than 200 refits.

    Returns
    -------
    DataFrame
        One row per unit left out (index: row or group labels), one column per
        parameter. ``attrs["method"]`` names the method; for ``"exact"``,
        ``attrs["converged"]`` is a boolean array (False rows also raise a warning).

    Notes
    -----
    With A = Σ_s w_s H_s, G_g = Σ_{t∈g} w_t G_t and H_g = Σ_{t∈g} w_t H_t:
    IJ θ̂ + A⁻¹G_g; Newton step θ̂ + (A − H_g)⁻¹G_g; exact argmin with w_t = 0 for t ∈ g.
    The Newton step is what statsmodels' ``GLMInfluence.d_params`` uses and equals R's
    ``lm.influence`` for linear models.

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> X = np.c_[np.ones(6), np.arange(6.0)]
    >>> y = np.array([0.1, 1.2, 1.9, 3.2, 3.9, 8.0])
    >>> res = me.OLS(y, X).fit()
    >>> loo = res.loo_params("newton")
    >>> refit = me.OLS(y[:5], X[:5]).fit()
    >>> bool(np.allclose(loo.iloc[5], refit.params))
    True
    """
    method = check_option("method", method, _METHODS)
    on_singular = check_option("on_singular", on_singular, ("raise", "nan"))
    units = make_units(res, groups, points)
    if method == "ij":
        theta = _loo_ij(res, units)
        conv = None
    elif method == "newton":
        theta = _loo_newton(res, units, on_singular)
        conv = None
    else:
        theta, conv = _loo_exact(res, units, on_singular, maxiter, xtol, progress)
    frame = labelled_frame(res, theta, units.frame_index)
    frame.attrs["method"] = method
    if conv is not None:
        frame.attrs["converged"] = conv
    return frame


# --------------------------------------------------------------------- IJ
def _unit_gradients(res, units: Units) -> np.ndarray:
    """G_g = Σ_{t∈g} w_t G_t for the selected units, shape (m, k)."""
    G = score_rows(res) * weights_or_ones(res)[:, None]
    if units.grouped:
        G = group_sum(G, units.codes, units.n_units)
    return G if units.all else G[units.points]


def _loo_ij(res, units: Units) -> np.ndarray:
    shift = bread_solve(res, _unit_gradients(res, units).T, scale=res.nobs).T
    return res.params.to_numpy() + shift


# ----------------------------------------------------------------- Newton
def _report_singular(units: Units, bad: np.ndarray, on_singular: str) -> None:
    if not bad.any():
        return
    labels = list(units.labels[units.selected[bad]][:10])
    what = "groups" if units.grouped else "observations"
    msg = (f"leaving out the {what} {labels}{' ...' if bad.sum() > 10 else ''} "
           f"({int(bad.sum())} in all) leaves the model unidentified: the Hessian of the "
           "remaining data is singular (a regressor or dummy that only these rows vary)")
    if on_singular == "raise":
        raise IdentificationError(msg + "; pass on_singular='nan' to get NaN rows for them")
    warnings.warn(msg + "; their rows are NaN", InferenceWarning, stacklevel=4)


def _loo_newton(res, units: Units, on_singular: str) -> np.ndarray:
    theta = res.params.to_numpy()
    if is_index_model(res.model) and not units.grouped:
        shift, bad = _index_newton_shift(res, slice(None) if units.all else units.points)
    else:
        A = res.bread() * res.nobs
        Gu = _unit_gradients(res, units)
        shift = np.empty_like(Gu)
        bad = np.zeros(units.selected.size, dtype=bool)
        for pos, Hu in unit_hessians(res, units):
            M = A[None] - Hu
            bad[pos] = singular(res, M, A)
            M[bad[pos]] = A          # placeholder, replaced by NaN below
            shift[pos] = np.linalg.solve(M, Gu[pos][..., None])[..., 0]
    shift += theta
    if bad is not None and bad.any():
        _report_singular(units, bad, on_singular)
        shift[bad] = np.nan
    return shift


def _index_newton_shift(res, sel) -> tuple[np.ndarray, np.ndarray | None]:
    """Sherman–Morrison: w_t d1_t A⁻¹x_t / (1 − h_t) for the rows ``sel`` (positions, or
    ``slice(None)`` for all rows: views, not copies) of an IndexModel.

    Returns the shifts and a mask of the rows with 1 − h_t ≤ 1e-10 (leaving them out
    leaves the model unidentified), whose shifts are placeholders for the caller to
    replace; the mask is None when there are none.
    """
    # the shift is w_t d1_t H⁻¹x_t / (n(1 − h_t))
    U = index_xhinv(res, sel)
    den = index_leave_out_scale(res, sel, U)
    num = index_derivatives(res)[0][sel]
    if res.model.weights is not None:
        num = weights_or_ones(res)[sel] * num
    bad = None
    if den.min(initial=np.inf) <= UNIDENTIFIED * res.nobs:
        bad = den <= UNIDENTIFIED * res.nobs
        den[bad] = 1.0                                    # finite placeholder
    U *= (num / den)[:, None]
    return U, bad


# ------------------------------------------------------------------ exact
def _loo_exact(res, units: Units, on_singular, maxiter, xtol, progress):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        start = _loo_newton(res, units, "nan")
    theta = res.params.to_numpy()
    start[~np.all(np.isfinite(start), axis=1)] = theta
    w = weights_or_ones(res)
    unit_weight = group_sum(w, units.codes, units.n_units) if units.grouped else w
    unit_weight = unit_weight[units.selected]
    out = np.tile(theta, (units.selected.size, 1))
    conv = np.ones(units.selected.size, dtype=bool)
    todo = np.flatnonzero(unit_weight > 0)        # leaving out weight-0 rows changes nothing
    if is_index_model(res.model):
        out[todo], conv[todo] = index_exact(res, units, todo, start[todo], maxiter, xtol)
    else:
        out[todo], conv[todo] = _generic_exact(res, units, todo, start[todo], maxiter, xtol,
                                               progress)
    if not conv.all():
        bad = np.flatnonzero(~conv)
        labels = list(units.labels[units.selected[bad]][:10])
        warnings.warn(f"the exact leave-out refit failed for {bad.size} of {conv.size} units: "
                      f"{labels}{' ...' if bad.size > 10 else ''}. Their rows are the last iterate "
                      "(or NaN); see frame.attrs['converged']. Leaving them out may leave the "
                      "model unidentified (e.g. separation) or need more iterations (maxiter=).",
                      InferenceWarning, stacklevel=3)
    return out, conv


def _generic_exact(res, units, todo, start, maxiter, xtol, progress):
    w = weights_or_ones(res)
    out = np.full((todo.size, res.k_params), np.nan)
    conv = np.zeros(todo.size, dtype=bool)
    it = range(todo.size)
    if progress or (progress is None and todo.size > 200):
        try:
            from tqdm.auto import tqdm
            it = tqdm(it, desc="exact leave-one-out", total=todo.size)
        except ImportError:
            pass
    codes = units.codes
    for i in it:
        unit = units.selected[todo[i]]
        wi = w.copy()
        wi[codes == unit] = 0.0
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                r = res.refit(weights=wi, start_params=res.params.to_numpy(), maxiter=maxiter,
                              xtol=xtol, cov_type="nonrobust", cov_kwds=None)
        except MEstimateError:
            continue
        out[i], conv[i] = r.params.to_numpy(), r.converged
    return out, conv


@dataclass(frozen=True)
class LooAccuracy:
    """How well the IJ and Newton-step approximations match exact leave-one-out.

    Attributes
    ----------
    table : DataFrame
        One row per method: ``max_rel_error``, ``median_rel_error`` (of the shift
        θ̂₍₋ₜ₎ − θ̂ in standard-error units, relative to the exact shift), and
        ``spearman`` (the smallest, over parameters, rank correlation of approximate
        and exact shifts).
    errors : DataFrame
        Per-unit relative errors, one column per method.
    worst : DataFrame
        The units with the largest Newton-step errors (with the exact shift size).
    exact, approx : DataFrame, dict of DataFrame
        The estimates compared.
    params : Series
        θ̂ on all the data.
    """

    table: pd.DataFrame
    errors: pd.DataFrame
    worst: pd.DataFrame
    exact: pd.DataFrame
    approx: dict = field(repr=False)
    params: pd.Series = field(repr=False)

    def __repr__(self) -> str:
        lines = [f"Leave-one-out accuracy against exact refits ({len(self.errors)} units)",
                 self.table.to_string(float_format=lambda v: f"{v:.3g}"),
                 "worst units (Newton step):",
                 self.worst.to_string(float_format=lambda v: f"{v:.3g}")]
        return "\n".join(lines)


def loo_accuracy(res, points=None, groups=None, n_worst: int = 5) -> LooAccuracy:
    """Compare IJ and Newton-step leave-one-out with exact refits.

    Parameters
    ----------
    res : MEstimatorResults
    points : sequence, optional
        Only these units (all by default).
    groups : array_like or str, optional
        Leave out groups instead of observations.
    n_worst : int
        How many of the worst units to list.

    Returns
    -------
    LooAccuracy

    Notes
    -----
    Shifts are measured in standard-error units, d_t = (θ̂₍₋ₜ₎ − θ̂) / se; the relative
    error of an approximation is ‖d_t^approx − d_t^exact‖ / ‖d_t^exact‖ (units whose
    exact shift is zero are excluded). IJ errors are first order in the leverage;
    Newton-step errors are second order (zero for least squares).

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> rng = np.random.default_rng(1)
    >>> X = np.c_[np.ones(60), rng.normal(size=60)]
    >>> y = (rng.random(60) < 1 / (1 + np.exp(-X @ [0.2, 1.0]))).astype(float)
    >>> acc = me.Logit(y, X).fit().loo_accuracy()
    >>> bool(acc.table.loc["newton", "max_rel_error"] < acc.table.loc["ij", "max_rel_error"])
    True
    """
    exact = loo_params(res, "exact", groups, points=points)
    approx = {m: loo_params(res, m, groups, points=points, on_singular="nan")
              for m in ("ij", "newton")}
    theta = res.params.to_numpy()
    se = np.sqrt(np.diag(res.cov_params("nonrobust").to_numpy()))
    de = (exact.to_numpy() - theta) / se
    norm_e = np.linalg.norm(de, axis=1)
    keep = norm_e > 0
    rows, errs = {}, {}
    for m, fr in approx.items():
        da = (fr.to_numpy() - theta) / se
        rel = np.full(norm_e.shape, np.nan)
        rel[keep] = np.linalg.norm(da - de, axis=1)[keep] / norm_e[keep]
        errs[m] = rel
        rho = [stats.spearmanr(da[keep, j], de[keep, j])[0] if keep.sum() > 2 else np.nan
               for j in range(theta.size)]
        rows[m] = {"max_rel_error": np.nanmax(rel) if keep.any() else np.nan,
                   "median_rel_error": np.nanmedian(rel) if keep.any() else np.nan,
                   "spearman": np.nanmin(rho) if np.isfinite(rho).any() else np.nan}
    errors = pd.DataFrame(errs, index=exact.index)
    errors["exact_shift_se"] = norm_e
    order = np.argsort(-np.nan_to_num(errors["newton"].to_numpy(), nan=-1.0))[:n_worst]
    return LooAccuracy(pd.DataFrame(rows).T, errors, errors.iloc[order], exact, approx, res.params)
