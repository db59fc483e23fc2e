"""What a leave-out estimate leaves out (points or groups), and the leave-out Hessians.

Shared by :mod:`mestimate.loo` (IJ, Newton step, the exact-refit driver) and
:mod:`mestimate._loo_exact` (batched exact refits of index models).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import derivatives as nd
from .exceptions import MEstimateError
from .influence import (
    group_codes,
    group_sum,
    index_derivatives,
    n_rows,
    row_index,
    row_labels,
    weights_or_ones,
)

# n × block entries held at once by the batched refits (a 16 MB buffer). Exact LOO of a
# logit took the same time with 1,000,000 to 4,000,000 (n = 5,000 and 20,000); the
# smaller, the less memory.
BLOCK_FLOATS = 2_000_000


@dataclass(frozen=True)
class Units:
    """What is left out: codes (row → unit), labels, and the units selected."""

    codes_: np.ndarray | None   # None for single points: row t is unit t
    labels_: pd.Index | None    # None: rows without labels, named 0..n−1 (built on demand)
    n_units: int
    grouped: bool
    points: np.ndarray | None   # positions in ``labels`` asked for; None: all units

    @property
    def codes(self) -> np.ndarray:
        """The unit of each data row."""
        return np.arange(self.n_units) if self.codes_ is None else self.codes_

    @property
    def labels(self) -> pd.Index:
        return pd.RangeIndex(self.n_units) if self.labels_ is None else self.labels_

    @property
    def all(self) -> bool:
        return self.points is None

    @property
    def selected(self) -> np.ndarray:
        """Positions in ``labels`` of the units left out."""
        return np.arange(self.n_units) if self.points is None else self.points

    @property
    def selected_labels(self) -> pd.Index:
        return self.labels if self.points is None else self.labels[self.points]

    @property
    def frame_index(self) -> pd.Index | None:
        """Row labels of a result frame; None: pandas' default RangeIndex (cheaper to let
        pandas build than to pass)."""
        return None if self.points is None and self.labels_ is None else self.selected_labels


def make_units(res, groups, points) -> Units:
    if groups is None:
        codes, labels = None, row_labels(res)
        n_units = n_rows(res)
    else:
        codes, labels = group_codes(res, groups)
        n_units = len(labels)
    if points is None:
        selected = None
    else:
        lookup = row_index(res) if labels is None else labels
        pts = pd.Index(list(points) if np.ndim(points) else [points])
        selected = lookup.get_indexer(pts)
        if (selected < 0).any():
            missing = list(pts[selected < 0][:5])
            what = "group labels" if groups is not None else "row labels of the data"
            source = "the groups" if groups is not None else "res.influence().index"
            raise MEstimateError(f"points {missing} are not {what}; pass labels from {source}")
        selected = np.asarray(selected, dtype=np.intp)
    return Units(codes, labels, n_units, groups is not None, selected)


UNIDENTIFIED = 1e-10   # 1 − h_t at or below this: leaving point t out leaves θ unidentified


def index_leave_out_scale(res, sel, U: np.ndarray) -> np.ndarray:
    """n(1 − h_t) = n − w_t d2_t x_tᵀH⁻¹x_t for the rows ``sel`` of an IndexModel (a new
    array), given their rows U = :func:`index_xhinv` (res, sel): the Sherman–Morrison
    denominator of leaving point t out, A − w_t H_t with A = n H_n(θ̂). Points with
    1 − h_t ≤ :data:`UNIDENTIFIED` cannot be left out.

    Shared by the Newton-step LOO and the chord steps of the exact refits; one pass over
    X and U, then n-vectors.
    """
    den = np.einsum("ij,ij->i", res.model.exog[sel], U)
    den *= index_derivatives(res)[1][sel]
    if res.model.weights is not None:
        den *= weights_or_ones(res)[sel]
    np.subtract(res.nobs, den, out=den)
    return den


def obs_jacobians(res, rows) -> np.ndarray:
    """Unweighted per-observation H_t (∂ψ_t/∂θ, not symmetrised, for estimating equations)."""
    model, p = res.model, res.params.to_numpy()
    if model.is_zestimator and model._user_hessian is None and not model._score_autodiff:
        return nd.jacobian(lambda q: model.score_obs(q, rows), p)
    return model.hessian_obs(p, rows)


def unit_hessians(res, units: Units):
    """Yield (positions in ``units.selected``, H_g stacked) in memory-bounded chunks."""
    k = res.k_params
    w = weights_or_ones(res)
    sel = units.selected
    if not units.grouped:
        pos = np.arange(sel.size)
        step = max(1, int(BLOCK_FLOATS // (k * k)))
        for a in range(0, sel.size, step):
            rows = sel[a:a + step]
            yield pos[a:a + step], obs_jacobians(res, rows) * w[rows, None, None]
        return
    total = np.zeros((units.n_units, k, k))
    for rows in res.model._reducer.slices(row_bytes=8 * k * k * 3):
        H = obs_jacobians(res, rows) * w[rows, None, None]
        total += group_sum(H, units.codes[rows], units.n_units)
    yield np.arange(sel.size), total[sel]


def singular(res, M: np.ndarray, A: np.ndarray, symmetric: bool | None = None) -> np.ndarray:
    """Which of the stacked matrices M (m, k, k) are numerically singular (scaled by diag A)."""
    s = 1.0 / np.sqrt(np.abs(np.diag(A)))
    C = M * np.outer(s, s)
    if not (not res.model.is_zestimator if symmetric is None else symmetric):
        sv = np.linalg.svd(C, compute_uv=False)
        return sv[:, -1] <= 1e-10 * sv[:, 0]
    ev = np.linalg.eigvalsh(0.5 * (C + np.swapaxes(C, 1, 2)))
    return ev[:, 0] <= 1e-10 * np.abs(ev[:, -1])
