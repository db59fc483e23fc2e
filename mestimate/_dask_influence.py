"""Influence and leave-one-out for dask-backed fits: lazy arrays partitioned like the data.

One factorisation of the k × k bread on the client; every row's value is then a
per-partition product (``map_blocks``), so nothing of size n is computed until the
user asks (``.compute()``, ``.to_zarr()``, ``topk``...).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg

from ._dask import refuse
from .exceptions import MEstimateError, check_option

__all__ = ["influence", "influence_on", "loo_params"]


def _scores(res):
    """Unweighted G_t (lazy, n × k) and the weights (lazy or None)."""
    return res.model.score_obs(res.params.to_numpy()), res.model.weights


def _solve_rows(res, G, scale: float = 1.0):
    """Rows (scale·H)⁻¹ G_t, lazily, with one factorisation of the bread."""
    H = res.bread()
    if res.model.is_zestimator:
        lu = linalg.lu_factor(H)
        f = lambda b: linalg.lu_solve(lu, b.T).T / scale  # noqa: E731
    else:
        cho = linalg.cho_factor(0.5 * (H + H.T))
        f = lambda b: linalg.cho_solve(cho, b.T).T / scale  # noqa: E731
    return G.map_blocks(f, dtype=float)


def influence(res):
    """I(z_t) = −H⁻¹G(z_t) for every row: a lazy (n, k) dask array (columns: ``res.param_names``)."""
    return -_solve_rows(res, _scores(res)[0])


def influence_on(res, phi, groups=None):
    """∇φ·I(z_t) per row (a lazy dask array), or per group (a computed Series).

    See :func:`mestimate.influence.influence_on`; with ``groups`` the weighted group
    sums are a reduction over partitions (groups may span partitions).
    """
    from .influence import bread_solve, phi_gradient

    _, grad, label = phi_gradient(res, phi)
    s = bread_solve(res, grad, transpose=True)
    G, w = _scores(res)
    values = -(G @ s)
    if groups is None:
        return values
    from ._dask_cov import _compute, _group_dims, group_sums_tree

    vals = values if w is None else values * w
    dims, _ = _group_dims(res, groups, tuple(vals.chunks[0]))
    if len(dims) != 1:
        raise MEstimateError("groups must be one label per observation")
    summed = _compute(group_sums_tree(vals[:, None], dims, [(0,)]))[0]
    out = summed.iloc[:, 0].sort_index()
    return pd.Series(out.to_numpy(), index=pd.Index(out.index, name="group"), name=label)


def loo_params(res, method: str = "newton", groups=None, *, points=None, **kwds):
    """Leave-one-out estimates for a dask-backed fit.

    ``"ij"`` and ``"newton"`` (index models: OLS, Logit, Poisson) return a lazy (n, k)
    dask array of θ̂ with each row left out; ``points=`` (row positions) returns a
    computed DataFrame for those rows. ``"exact"`` refits once per point and needs
    ``points=``.
    """
    from ._dask_models import _RegressionMixin

    method = check_option("method", method, ("newton", "ij", "exact"))
    if groups is not None:
        raise refuse("leave-one-group-out", "fit in memory, or use influence_on(..., groups=)")
    theta = res.params.to_numpy()
    if method == "exact":
        if points is None:
            raise refuse("exact leave-one-out over every row (one refit per row)",
                         "pass points=[row positions] to refit without a few rows")
        return _exact(res, points, kwds)
    G, w = _scores(res)
    Gw = G if w is None else G * w[:, None]
    shift = _solve_rows(res, Gw, scale=res.nobs)
    if method == "newton":
        if not isinstance(res.model, _RegressionMixin):
            raise refuse("Newton-step leave-one-out for a generic MEstimator",
                         "use method='ij', or fit in memory")
        shift = shift / (1.0 - res.model.leverage(theta))[:, None]
    out = theta + shift
    if points is None:
        return out
    idx = np.asarray(list(points) if np.ndim(points) else [points], dtype=int)
    frame = pd.DataFrame(out[idx].compute(), index=idx, columns=res.param_names)
    frame.attrs["method"] = method
    return frame


def _exact(res, points, kwds):
    import dask.array as da

    idx = np.asarray(list(points) if np.ndim(points) else [points], dtype=int)
    model = res.model
    base = model.weights if model.weights is not None else da.ones(
        model._n_rows, chunks=(model._row_chunks,))
    rows, conv = [], []
    for i in idx:
        w = base.copy()
        w[int(i)] = 0.0
        fit = res.refit(w, cov_type="nonrobust", **{k: v for k, v in kwds.items()
                                                      if k in ("maxiter", "xtol")})
        rows.append(fit.params.to_numpy())
        conv.append(fit.converged)
    frame = pd.DataFrame(rows, index=idx, columns=res.param_names)
    frame.attrs["method"], frame.attrs["converged"] = "exact", np.array(conv)
    return frame
