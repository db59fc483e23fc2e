"""Cluster-robust meats, one-way and multi-way, as R's ``sandwich::meatCL``.

Multi-way clustering (Cameron, Gelbach & Miller 2011) is inclusion–exclusion over all
intersections of the clustering dimensions; with ``multi0=True`` the highest
intersection is replaced by the heteroskedasticity-only meat (one cluster per
observation), as in ``vcovCL(..., multi0 = TRUE)``.

The HC2/HC3 cluster adjustments (Bell & McCaffrey 2002) are exact only for linear
predictors: they need the design matrix X and the working weights w of an lm/glm, and
residuals r_t such that ψ_t = r_t x_t.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import sparse

from mestimate.exceptions import DataError, MEstimateError, check_option

from ._checks import as_estfun, as_group_frame, factorize_rows, resolve_n_k
from .sandwich import HC_TYPES, check_leverage

__all__ = ["meat_cluster", "n_clusters", "cluster_df"]


def _rowsum(u: np.ndarray, codes: np.ndarray, g: int) -> np.ndarray:
    """Sum the rows of ``u`` within each code (a (g, k) array).

    The (g × n) indicator matrix of the codes, stored by columns (one entry per
    observation, so it is built without sorting), times ``u``: one pass over the rows of
    ``u`` in their order, each added to its group's row of the result, and the same
    sums in the same order as a per-column ``np.bincount`` (which reads all of ``u`` once
    per column).
    """
    n = u.shape[0]
    itype = np.int32 if max(n, g) < np.iinfo(np.int32).max else np.int64
    indicator = sparse.csc_array(
        (np.ones(n), np.asarray(codes).astype(itype, copy=False), np.arange(n + 1, dtype=itype)),
        shape=(g, n))
    return np.asarray(indicator @ np.ascontiguousarray(u, dtype=float))


def n_clusters(groups: object) -> tuple[int, ...]:
    """Number of distinct clusters in each clustering dimension.

    Examples
    --------
    >>> n_clusters([[1, 1, 2, 3], ["a", "b", "a", "b"]])
    (3, 2)
    """
    frame = as_group_frame(groups, _nrows(groups))
    return tuple(int(frame[c].nunique()) for c in frame.columns)


def cluster_df(groups: object) -> int:
    """Degrees of freedom ``G − 1`` for cluster t-inference (smallest G for multi-way).

    Examples
    --------
    >>> cluster_df([1, 1, 2, 2, 3])
    2
    """
    return min(n_clusters(groups)) - 1


def _nrows(groups: object) -> int:
    if isinstance(groups, (pd.DataFrame, pd.Series)):
        return len(groups)
    if isinstance(groups, (list, tuple)) and groups and np.ndim(groups[0]) == 1:
        return len(groups[0])
    return len(np.asarray(groups))


def _linear_residuals(u: np.ndarray, x: np.ndarray) -> np.ndarray:
    """r_t with ψ_t = r_t x_t; error if the rows are not proportional."""
    xx = np.einsum("ij,ij->i", x, x)
    r = np.einsum("ij,ij->i", u, x) / np.where(xx > 0, xx, 1.0)
    scale = np.abs(u).max() or 1.0
    if np.abs(u - r[:, None] * x).max() > 1e-8 * scale:
        raise MEstimateError(
            "clustered HC2/HC3 need estfun rows proportional to the design rows (ψ_t = r_t x_t), "
            "as for lm/glm; this estfun is not. Use type='HC0' or 'HC1'"
        )
    return r


def _bell_mccaffrey(
    u: np.ndarray, codes: np.ndarray, g: int, type: str, design: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """Rows (I − H_gg)^{-1/2} r_g x_g (HC2) or (I − H_gg)^{-1} r_g x_g (HC3) per cluster.

    I − H_gg = I − X_g A X_gᵀ W_g is similar to the symmetric I − S_g with
    S_g = W½X_g A X_gᵀW½ of rank ≤ k: with S_g = V Λ Vᵀ (V: n_g×k orthonormal, from a
    thin QR of W½X_g and a k×k eigenproblem), (I − S_g)^p = I + V((1 − Λ)^p − I)Vᵀ.
    This is exact to rounding (R's ``matrixpower`` on the non-symmetric matrix is not
    for large clusters of a weighted fit; see tests/covariance).
    """
    r = _linear_residuals(u, design)
    sw = np.sqrt(w)
    xs = design * sw[:, None]
    xx_inv = np.linalg.inv(xs.T @ xs)
    out = np.empty_like(u)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    power = -0.5 if type == "HC2" else -1.0
    tol = np.finfo(float).eps ** (1 / 1.3)
    for idx in np.split(order, bounds):  # one k×k eigenproblem per cluster
        q, rr = np.linalg.qr(xs[idx])
        lam, vec = np.linalg.eigh(rr @ xx_inv @ rr.T)
        one_minus = 1 - lam
        if np.any(one_minus <= tol):
            raise MEstimateError(
                f"clustered {type} is undefined: I − H_gg is singular for the cluster of "
                f"observations {idx[:10].tolist()} (a cluster that fits itself exactly); use HC0/HC1"
            )
        v = q @ vec
        rs = sw[idx] * r[idx]
        adj = (rs + v @ ((one_minus**power - 1) * (v.T @ rs))) / sw[idx]
        out[idx] = adj[:, None] * design[idx]
    return out


def meat_cluster(
    estfun: np.ndarray,
    groups: object,
    *,
    type: str = "HC1",
    cadjust: bool = True,
    multi0: bool = False,
    k: int | None = None,
    nobs: int | None = None,
    leverage: np.ndarray | None = None,
    design: np.ndarray | None = None,
    working_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster-robust meat, as R's ``sandwich::meatCL`` (and hence ``vcovCL``).

    Parameters
    ----------
    estfun : (n, k) array
        Rows ψ_t.
    groups : array-like
        Cluster labels: a 1-d array (one-way), or a 2-d array, DataFrame or list of
        1-d arrays (one column per dimension; multi-way).
    type : {"HC1", "HC0", "HC2", "HC3"}
        "HC1" multiplies by (n − 1)/(n − k) (R's default for lm; for glm R defaults to
        "HC0"). HC2/HC3 need ``design`` and ``working_weights`` (lm/glm only), and
        ``leverage`` when a dimension has one observation per cluster.
    cadjust : bool
        Multiply each term by G/(G − 1).
    multi0 : bool
        Multi-way only: use the HC meat (adjusted by (n − k)/(n − 1) for HC1) for the
        highest intersection instead of clustering on it.
    k, nobs : int, optional
        Number of parameters and observations (defaults: columns and rows of estfun).
    leverage : (n,) array, optional
        Hat values (HC2/HC3 with one observation per cluster).
    design : (n, k) array, optional
        The design matrix X (HC2/HC3).
    working_weights : (n,) array, optional
        IRLS working weights w (HC2/HC3 for a glm; default 1 = lm).

    Returns
    -------
    (k, k) ndarray

    Notes
    -----
    For one dimension with clusters g = 1..G and sums U_g = Σ_{t∈g} ψ_t,

    .. math:: M = c\\,\\frac{G}{G-1}\\,\\frac1n\\sum_g U_g U_g^T,\\qquad
              c = \\frac{n-1}{n-k}\\ \\text{(HC1)},\\ 1\\ \\text{(HC0)}.

    Multi-way: ``M = Σ_S (−1)^{|S|+1} M_S`` over non-empty subsets S of the
    dimensions, M_S clustering on the intersection (each with its own G_S/(G_S − 1)),
    and the HC1 factor applied once to the sum. Stata's default cluster-robust
    variance (``vce(cluster id)``) is ``type="HC1", cadjust=True``, with t-inference on
    G − 1 degrees of freedom (:func:`cluster_df`). HC2/HC3 replace the rows of cluster g
    by ``√((G−1)/G) (I − H_gg)^{-p} r_g x_g`` with H_gg = X_g (XᵀWX)⁻¹ X_gᵀ W_g,
    p = ½ (HC2) or 1 (HC3), before summing.

    Examples
    --------
    >>> import numpy as np
    >>> psi = np.array([[1.0], [1.0], [-1.0], [2.0]])
    >>> meat_cluster(psi, [1, 1, 2, 2], type="HC0", cadjust=False)
    array([[1.25]])
    >>> meat_cluster(psi, [1, 2, 3, 4], type="HC0", cadjust=False)  # one per cluster: HC0
    array([[1.75]])
    """
    return _meat_and_sizes(estfun, groups, type, cadjust, multi0, k, nobs, leverage, design,
                           working_weights)[0]


def _meat_and_sizes(estfun, groups, type="HC1", cadjust=True, multi0=False, k=None, nobs=None,
                    leverage=None, design=None, working_weights=None):
    """:func:`meat_cluster` and the number of clusters in each dimension (as :func:`n_clusters`),
    from one encoding of the labels."""
    u = as_estfun(estfun)
    n_rows = u.shape[0]
    n, k = resolve_n_k(u, k, nobs)
    type = check_option("type", type, HC_TYPES)
    frame = as_group_frame(groups, n_rows)
    p = frame.shape[1]
    subsets = [s for size in range(1, p + 1) for s in combinations(frame.columns, size)]
    codes = [factorize_rows(frame, s) for s in subsets]
    signs = [(-1) ** (len(s) + 1) for s in subsets]
    if multi0 and p > 1:
        codes[-1] = np.arange(n_rows)
    g_counts = [int(c.max()) + 1 for c in codes]
    if type in ("HC1",) and n <= k:
        raise MEstimateError(f"HC1 needs more observations than parameters; got n={n}, k={k}")
    if any(g < 2 for g in g_counts) and cadjust:
        raise DataError(
            "a clustering dimension has a single cluster, so G/(G − 1) is undefined; "
            "cluster on a variable with at least two distinct values"
        )
    needs_bm = type in ("HC2", "HC3") and any(g < n_rows for g in g_counts)
    if needs_bm:
        if design is None:
            raise MEstimateError(
                f"clustered {type} is implemented for linear predictors (lm/glm) only and needs "
                "design=X (and working_weights=w for a glm); use type='HC0' or 'HC1' otherwise"
            )
        design = np.asarray(design, dtype=float)
        if design.shape != u.shape:
            raise DataError(f"design must have the shape of estfun {u.shape}; got {design.shape}")
        w = np.ones(n_rows) if working_weights is None else np.asarray(working_weights, float).ravel()
        if w.shape != (n_rows,) or np.any(w < 0):
            raise DataError(f"working_weights must be {n_rows} non-negative values")
    meat = np.zeros((u.shape[1], u.shape[1]))
    for i, (c, g, sign) in enumerate(zip(codes, g_counts, signs)):
        last_multi0 = multi0 and p > 1 and i == len(codes) - 1
        if last_multi0:
            adj = (n - k) / (n - 1) if type == "HC1" else 1.0
        else:
            adj = g / (g - 1) if cadjust else 1.0
        ui = u
        if type in ("HC2", "HC3"):
            if g == n_rows:
                h = check_leverage(leverage, n_rows, f"clustered {type}")
                ui = u / (np.sqrt(1 - h) if type == "HC2" else (1 - h))[:, None]
            else:
                ui = _bell_mccaffrey(u, c, g, type, design, w)
            ui = np.sqrt((g - 1) / g) * ui
        s = _rowsum(ui, c, g) if g < n_rows else ui
        meat += sign * adj * (s.T @ s) / n
    if type == "HC1":
        meat *= (n - 1) / (n - k)
    return meat, tuple(g_counts[:p])  # the first p subsets are the single dimensions
