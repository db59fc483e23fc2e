"""Influence functions I(z_t) = −H⁻¹G(z_t) and first-order effects on a scalar φ(θ).

Everything here is computed from the results' two ingredients (DESIGN.md): the
per-observation gradients G(z_t; θ̂) and the bread H_n(θ̂), with one factorisation of
H and one solve for all rows. The helpers at the bottom (row labels, group codes,
the gradient of φ) are shared by :mod:`mestimate.loo`, :mod:`mestimate.diagnostics`
and :mod:`mestimate.sensitivity`.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import linalg, sparse

from . import derivatives as nd
from .exceptions import DataError, MEstimateError
from .models._regression import IndexModel

__all__ = ["influence", "influence_on"]


def influence(res) -> pd.DataFrame:
    """Influence functions of every observation on θ̂.

    Parameters
    ----------
    res : MEstimatorResults

    Returns
    -------
    DataFrame (n × k)
        Row t is I(z_t; θ̂); the index is the data's row index when the model has
        one (formulas, pandas input), else a RangeIndex; columns are parameter names.

    Notes
    -----
    I(z; θ̂) = −H_n(θ̂)⁻¹ G(z; θ̂) with the *unweighted* G (MATH.md): the derivative of
    θ̂ when z is added with weight ε to the mean loss. Rows with weight 0 get the
    influence they would have if added. Removing a point with weight w_t changes θ̂
    by about −(w_t/n) I(z_t) (the infinitesimal jackknife, see
    :func:`mestimate.loo.loo_params`).

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> y = np.array([1.0, 2.0, 5.0, 8.0])
    >>> res = me.OLS(y, np.ones((4, 1))).fit()
    >>> res.influence()["const"].round(12).to_list()      # I(z_t) = y_t − ȳ for a mean
    [-3.0, -2.0, 1.0, 4.0]
    """
    model = res.model
    if model.weights is None and "estfun" in res._cache:
        # the scores are already there (a robust covariance was computed): one product
        infl = res._cache["estfun"] @ -bread_inverse(res).T   # rows −(H⁻¹G_t)ᵀ
    elif is_index_model(model) and not getattr(model, "_dask_backed", False):
        # G_t = d1_t x_t, so H⁻¹G_t = d1_t H⁻¹x_t: one product, scaled in place
        infl = index_xhinv(res)
        infl *= -index_derivatives(res)[0][:, None]
    else:
        infl = -bread_solve(res, score_rows(res).T).T
    return labelled_frame(res, infl)


def is_index_model(model) -> bool:
    """Whether the loss depends on θ only through η = Xθ (OLS, Logit, Poisson, ...)."""
    return isinstance(model, IndexModel)


def index_xhinv(res, rows=None) -> np.ndarray:
    """Rows x_tᵀ H_n(θ̂)⁻¹ of an index model's design (all rows, or ``rows``).

    A new column-major (n, k) array that the caller owns and may scale in place: scaling
    its rows by per-observation factors runs along n (3× faster than a row-major array's
    k-long inner loops), and a DataFrame takes it without a copy.

    Not cached, on purpose: kept with the results it would hold n × k floats for their
    lifetime (48 MB at n = 200,000, k = 30), and every caller would still need an n × k
    array of its own to scale, whose first touch (page faults) costs more than repeating
    the product.
    """
    X = res.model.exog if rows is None else res.model.exog[rows]
    return (bread_inverse(res) @ X.T).T    # (H⁻¹Xᵀ)ᵀ, H⁻¹ symmetric


def index_derivatives(res) -> tuple[np.ndarray, np.ndarray]:
    """(d1_t, d2_t) = (∂ℓ/∂η, ∂²ℓ/∂η²) of an index model at θ̂ for every row, computed once."""
    d = res._cache.get("_index_d1_d2")
    if d is None:
        model = res.model
        d = model._d1_d2(model.endog, model.linear_index(res.params.to_numpy()))
        res._cache["_index_d1_d2"] = d
    return d


def labelled_frame(res, values: np.ndarray, index: pd.Index | None = None) -> pd.DataFrame:
    """A DataFrame of ``values`` (no copy) with one column per parameter.

    ``index`` None means the data's row labels (:func:`row_labels`); when the data have
    none, pandas builds its default RangeIndex itself, which is cheaper than passing one.
    The columns are ``res._labels()``, a view of the params' Index (a new Index object on
    the same data): rebuilding it from the list of names costs more than the rest of an
    n = 5,000 influence computation (pandas string inference), and sharing the object
    itself would let ``frame.columns.name = ...`` rename ``res.params``.
    """
    if index is None:
        index = row_labels(res)
    return pd.DataFrame(values, index=index, columns=res._labels(), copy=False)


def influence_on(res, phi, groups=None) -> pd.Series:
    """First-order effect of each observation (or group) on a scalar φ(θ).

    Parameters
    ----------
    res : MEstimatorResults
    phi : str or callable
        A parameter name, an expression in parameter names (``"hp / wt"``, see
        :func:`mestimate._expr.compile_expression`) or a callable of the params
        Series returning a scalar.
    groups : array_like or str, optional
        One label per observation (or a column name of a formula model's data):
        the result has one entry per group, the weighted sum Σ_{t∈g} w_t ∇φ·I(z_t)
        (the derivative of φ when every weight in the group is scaled by 1 + ε).

    Returns
    -------
    Series
        ∇φ(θ̂)·I(z_t; θ̂) per observation (or group). Positive: adding (up-weighting)
        the point raises φ; removing it lowers φ by about w_t/n times this value.

    Notes
    -----
    ∇φ·I(z_t) = −∇φᵀ H⁻¹ G(z_t) = −G(z_t)·s with s = H⁻ᵀ∇φ: one solve, then one dot
    product per observation (MATH.md).

    Examples
    --------
    >>> import numpy as np, mestimate as me
    >>> y = np.array([1.0, 2.0, 5.0, 8.0])
    >>> res = me.OLS(y, np.ones((4, 1))).fit()
    >>> res.influence_on("2 * const").round(12).to_list()
    [-6.0, -4.0, 2.0, 8.0]
    """
    _, grad, label = phi_gradient(res, phi)
    s = bread_solve(res, grad, transpose=True)
    values = -(score_rows(res) @ s)
    if groups is None:
        return pd.Series(values, index=row_index(res), name=label)
    codes, labels = group_codes(res, groups)
    summed = group_sum(values * weights_or_ones(res), codes, len(labels))
    return pd.Series(summed, index=labels, name=label)


# --------------------------------------------------------------- shared helpers
def n_rows(res) -> int:
    """Number of data rows (including rows with weight 0)."""
    return int(res.model._n_rows)


def weights_or_ones(res) -> np.ndarray:
    """The observation weights w_t (ones when the model has none)."""
    w = res.model.weights
    return np.ones(n_rows(res)) if w is None else np.asarray(w, dtype=float)


def row_labels(res) -> pd.Index | None:
    """The model's row index (formulas, pandas input), or None when the data have none."""
    idx = getattr(res.model, "_row_index", None)
    if idx is not None and len(idx) == n_rows(res):
        return pd.Index(idx)
    return None


def row_index(res) -> pd.Index:
    """Labels of the data rows: the model's row index if it has one, else 0..n−1."""
    idx = row_labels(res)
    return pd.RangeIndex(n_rows(res)) if idx is None else idx


def score_rows(res) -> np.ndarray:
    """Unweighted per-observation gradients G(z_t; θ̂), shape (n, k)."""
    if res.model.weights is None:
        return res.estfun()
    p = res.params.to_numpy()
    return res.model._reducer.concat(lambda r: res.model.score_obs(p, r))


def bread_solve(res, b: np.ndarray, *, transpose: bool = False, scale: float = 1.0) -> np.ndarray:
    """(scale·H)⁻¹ b (or (scale·H)⁻ᵀ b) with one cached factorisation of the bread H_n(θ̂).

    Cholesky for a loss (symmetric positive definite H), LU for estimating equations.
    """
    b = np.asarray(b)
    if b.ndim == 2 and b.shape[1] > 4 * b.shape[0]:
        # many right-hand sides (one per observation): one k×k inverse and a BLAS-3 product
        # beat n triangular solves by an order of magnitude
        inv = bread_inverse(res)
        return (inv.T @ b if transpose else inv @ b) / scale
    kind, f = _bread_factor(res)
    out = linalg.cho_solve(f, b) if kind == "cho" else linalg.lu_solve(f, b, trans=int(transpose))
    return out / scale


def _bread_factor(res) -> tuple[str, tuple]:
    """Cholesky (loss) or LU (estimating equations) factors of H_n(θ̂), computed once.

    The bread was checked finite and nonsingular when the results were built
    (``check_bread``), so scipy's finiteness scan is skipped.
    """
    fac = res._cache.get("_influence_factor")
    if fac is None:
        H = res.bread()
        if res.model.is_zestimator:
            fac = ("lu", linalg.lu_factor(H, check_finite=False))
        else:
            fac = ("cho", linalg.cho_factor(0.5 * (H + H.T), check_finite=False))
        res._cache["_influence_factor"] = fac
    return fac


def bread_inverse(res) -> np.ndarray:
    """H_n(θ̂)⁻¹ (exactly symmetric for a loss), computed once per results.

    numpy's LU inverse: the bread was checked nonsingular (and, for a loss, positive
    definite) when the results were built, and numpy's call costs a tenth of scipy's
    factor-and-solve pair at small k.
    """
    inv = res._cache.get("_influence_inverse")
    if inv is None:
        inv = np.linalg.inv(res.bread())
        if not res.model.is_zestimator:
            inv = 0.5 * (inv + inv.T)
        res._cache["_influence_inverse"] = inv
    return inv


def phi_gradient(res, phi) -> tuple[float, np.ndarray, str]:
    """φ(θ̂), ∇φ(θ̂) and a label for a scalar φ given as a name, expression or callable."""
    from .delta import make_phi

    theta = res.params.to_numpy()
    f, get_labels = make_phi(phi, res.param_names)
    with np.errstate(all="ignore"):
        value = np.asarray(f(theta), dtype=float).ravel()
        if value.size != 1:
            raise MEstimateError(f"phi must be a scalar function of the parameters; it returned "
                                 f"{value.size} values")
        grad = np.asarray(nd.jacobian(lambda t: np.asarray(f(t)).ravel(), theta), dtype=float)[0]
    if not (np.isfinite(value[0]) and np.all(np.isfinite(grad))):
        raise MEstimateError(f"phi or its gradient is not finite at the estimate "
                             f"(phi = {value[0]}, "
                             f"gradient = {grad}); choose a function that is smooth at θ̂")
    labels = get_labels()
    label = labels[0] if labels else (phi if isinstance(phi, str) else "phi")
    return float(value[0]), grad, label


def make_scalar_phi(res, phi) -> Callable[[np.ndarray], float]:
    """φ as a plain function of a real parameter vector (for evaluating refits)."""
    from .delta import make_phi

    f, _ = make_phi(phi, res.param_names)
    return lambda theta: float(np.asarray(f(np.asarray(theta, float))).ravel()[0])


def group_codes(res, groups) -> tuple[np.ndarray, pd.Index]:
    """Integer codes 0..g−1 (in sorted label order) and the labels of ``groups``.

    ``groups`` is one label per data row, or a column name of the model's data.
    """
    if isinstance(groups, str):
        groups = res.data_column(groups)
    n = n_rows(res)
    if isinstance(groups, (pd.DataFrame,)) or np.ndim(groups) != 1:
        raise DataError(f"groups must be one label per observation (a 1-d array of length {n}); "
                        f"got shape {np.shape(groups)}")
    g = pd.Series(np.asarray(groups) if not isinstance(groups, pd.Series) else groups.to_numpy())
    if len(g) != n:
        raise DataError(f"groups has {len(g)} labels but the data have {n} rows; pass one group "
                        "label per observation, in the same order")
    bad = np.flatnonzero(g.isna().to_numpy())
    if bad.size:
        raise DataError(f"groups contains missing labels (NaN/None) at rows {bad[:10].tolist()}"
                        f"{' ...' if bad.size > 10 else ''}; give every observation a group")
    codes, labels = pd.factorize(g, sort=True)
    return codes.astype(np.intp), pd.Index(labels, name="group")


def group_sum(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Sums of the rows of ``values`` (n, ...) within each group."""
    n = codes.shape[0]
    S = sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(n_groups, n))
    flat = values.reshape(n, -1)
    out = np.asarray(S @ flat)
    return out.reshape((n_groups,) + values.shape[1:])
