"""Exact leave-out refits of index models (OLS, Logit, Poisson), batched over units.

From the Newton-step estimates, chord steps with the leave-out Hessians at θ̂
(Sherman–Morrison updates of the bread; one matrix product gives the gradients of a
block of B refits), and damped Newton for the few fits the chord steps do not settle.
Called by :func:`mestimate.loo.loo_params` (``method="exact"``).
"""
from __future__ import annotations

import numpy as np

from ._loo_units import (
    BLOCK_FLOATS,
    UNIDENTIFIED,
    Units,
    index_leave_out_scale,
    singular,
    unit_hessians,
)
from .influence import bread_inverse, index_derivatives, index_xhinv, weights_or_ones

__all__ = ["index_exact"]


def index_exact(res, units, todo, start, maxiter, xtol):
    """Exact leave-out fits of an IndexModel, Σ_s W_sb ℓ(y_s, x_sᵀθ_b) for B units at once.

    From the Newton-step estimates, chord steps with the leave-out Hessians at θ̂
    (:func:`_chord_solver`) settle almost every fit in two or three passes over the data,
    each pass one product for the indices, one evaluation of ℓ' and one product for the
    gradients: no n × B second derivatives and no B Hessians. The fits they do not settle
    (slow contraction, as for a point whose removal moves θ̂ a lot, or separation) go to
    damped Newton (:func:`_batched_newton`).
    """
    model = res.model
    n, k = model.exog.shape
    w = res.model.weights
    block = max(1, min(todo.size, int(BLOCK_FLOATS // max(n, 1))))
    out = np.array(start, dtype=float)
    conv = np.zeros(todo.size, dtype=bool)
    newton_parts = None
    solver = _chord_solver(res, units, units.selected[todo])
    buf = np.empty(n * block)
    for a in range(0, todo.size, block):
        idx = np.arange(a, min(a + block, todo.size))
        unit_ids = units.selected[todo[idx]]
        Theta = out[idx]
        done = _chord_iterations(res, _leave_out_weights(units, w, unit_ids),
                                 lambda G, c: solver(G, idx[c]), Theta,
                                 min(maxiter, _MAX_CHORD), xtol, buf)
        rest = np.flatnonzero(~done)
        if rest.size:
            if newton_parts is None:
                iu = np.triu_indices(k)
                newton_parts = (model.exog[:, iu[0]] * model.exog[:, iu[1]], iu)
            T0 = Theta[rest]
            lost = ~np.all(np.isfinite(T0), axis=1)
            T0[lost] = start[idx[rest[lost]]]
            Theta[rest], done[rest] = _batched_newton(
                res, *newton_parts, _leave_out_weights(units, w, unit_ids[rest]), T0,
                maxiter, xtol)
        out[idx], conv[idx] = Theta, done
    return out, conv


def _leave_out_weights(units, w, unit_ids):
    if units.grouped:
        return _GroupWeights(w, units.codes, unit_ids)
    return _PointWeights(w, unit_ids)


_MAX_CHORD = 8          # chord passes before the unsettled fits go to damped Newton
_CHORD_RATE = 0.05      # a slower measured contraction sends a fit to Newton at once
_CHORD_SAFETY = 1e-3    # estimated error left / xtol at which a chord-stepped fit stops


def _chord_solver(res, units, unit_ids):
    """``solve(G, pos)``: M_b⁻¹g_b for the rows g_b of G, M_b = A − H_b(θ̂) the Hessian of
    the leave-out objective of unit ``unit_ids[pos]`` at θ̂ (A = n H_n(θ̂)).

    For one point H_b = w_t d2_t x_t x_tᵀ is rank one and M_b⁻¹ is Sherman–Morrison,
    M_b⁻¹g = A⁻¹g + c_t A⁻¹x_t (x_tᵀA⁻¹g) / (1 − h_t) with c_t = w_t d2_t and
    h_t = c_t x_tᵀA⁻¹x_t: O(k²) per fit, one (B, k) × (k, k) product per pass. For groups,
    the (A − H_g)⁻¹ are formed once. Units whose M_b is singular get NaN steps (their fits
    then go to Newton, which reports them).
    """
    n = res.nobs
    Hinv = bread_inverse(res)
    if not units.grouped:
        U = index_xhinv(res, unit_ids)                   # rows H⁻¹x_t = n A⁻¹x_t
        c = weights_or_ones(res)[unit_ids] * index_derivatives(res)[1][unit_ids]
        den = index_leave_out_scale(res, unit_ids, U)    # n(1 − h_t)
        with np.errstate(divide="ignore", invalid="ignore"):
            coef = np.where(den > UNIDENTIFIED * n, c / den, np.nan)

        def solve(G, pos):
            Ub = U[pos]
            return (G @ Hinv + (coef[pos] * np.einsum("ij,ij->i", Ub, G))[:, None] * Ub) / n

        return solve
    A = res.bread() * n
    sub = Units(units.codes, units.labels_, units.n_units, True, np.asarray(unit_ids))
    Hg = next(unit_hessians(res, sub))[1]
    M = A[None] - Hg
    bad = singular(res, M, A, symmetric=True)
    M[bad] = A
    Minv = np.linalg.inv(M)
    Minv[bad] = np.nan

    def solve_groups(G, pos):
        return np.einsum("bij,bj->bi", Minv[pos], G)

    return solve_groups


def _chord_iterations(res, weigh, solve, Theta, passes, xtol, buf) -> np.ndarray:
    """Chord steps θ_b ← θ_b − M_b⁻¹ g_b(θ_b) for the columns of Theta (updated in place);
    returns which fits converged.

    A chord step contracts the error linearly at a rate r_b of the order of the Hessian's
    change between θ̂ and the leave-out estimate; r_b is measured as the ratio of
    successive steps, and a fit stops once the error left after a step s, about
    s·r/(1 − r), is below 0.001·xtol (relative to max(1, |θ|)), or the step is at the level
    of rounding. Fits that contract slower than ``_CHORD_RATE`` or stop being finite are
    returned unconverged, for Newton. ``buf`` holds n·B floats, reused by every pass for the
    indices and then ℓ' (allocating them anew each pass was measured 20% slower: the
    allocator returned the memory to the system and page-faulted it in again).
    """
    model = res.model
    X, y = model.exog, model.endog
    n = X.shape[0]
    off = model.linear_index(np.zeros(X.shape[1]))
    off = off[:, None] if np.any(off) else None
    B = Theta.shape[0]
    done = np.zeros(B, dtype=bool)
    prev = np.full(B, np.nan)
    act = np.arange(B)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(passes):
            if act.size == 0:
                break
            T = Theta[act]
            eta = buf[: n * act.size].reshape(n, act.size)   # one buffer for every pass
            np.matmul(X, T.T, out=eta)
            if off is not None:
                eta += off
            grad = weigh(model._d1_inplace(y[:, None], eta), act).T @ X
            step = solve(grad, act)
            Theta[act] = T - step
            s = np.max(np.abs(step), axis=1) / np.maximum(1.0, np.max(np.abs(T), axis=1))
            rate = s / prev[act]
            finished = (s <= 1e3 * np.finfo(float).eps) | (
                (rate <= _CHORD_RATE) & (s * rate / (1.0 - rate) <= _CHORD_SAFETY * xtol))
            failed = ~np.isfinite(s) | (rate > _CHORD_RATE)
            prev[act] = s
            done[act[finished]] = True
            act = act[~(finished | failed)]
    return done & np.all(np.isfinite(Theta), axis=1)


class _PointWeights:
    """Multiply an (n, B) array by the weights of B leave-one-out fits (row t_b zeroed)."""

    def __init__(self, w, rows):
        self.w, self.rows = w, rows

    def __call__(self, M, cols):  # M is the caller's buffer: scaled in place
        if self.w is not None:
            M *= self.w[:, None]
        M[self.rows[cols], np.arange(cols.size)] = 0.0
        return M


class _GroupWeights:
    """Multiply an (n, B) array by the weights of B leave-one-group-out fits."""

    def __init__(self, w, codes, unit_ids):
        w = np.ones(codes.shape[0]) if w is None else w
        self.W = w[:, None] * (codes[:, None] != unit_ids[None, :])

    def __call__(self, M, cols):  # M is the caller's buffer: scaled in place
        # cols are increasing positions; all of them is 0..B−1, where W needs no copy
        M *= self.W if cols.size == self.W.shape[1] else self.W[:, cols]
        return M


def _batched_newton(res, XX, iu, weigh, Theta, maxiter, xtol):
    """Newton iterations for B leave-out fits at once; a per-fit backtracking line search
    runs only where the Newton decrement is large (far from the solution)."""
    model = res.model
    X, y = model.exog, model.endog
    off = model.linear_index(np.zeros(X.shape[1]))[:, None]
    A = res.bread() * res.nobs
    k = X.shape[1]
    B = Theta.shape[0]
    conv = np.zeros(B, dtype=bool)
    act = np.arange(B)

    def loss(T, cols):
        v = weigh(model._loss(y[:, None], X @ T.T + off), cols).sum(axis=0)
        return np.where(np.isfinite(v), v, np.inf)

    Hinv = None  # per-fit inverse Hessians, kept once every fit is close to its solution
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(maxiter):
            if act.size == 0:
                break
            T = Theta[act]
            eta = X @ T.T + off
            if Hinv is not None:
                # chord step: near the solution the Hessian barely moves (the error after a
                # chord step is O(|δ|·|step|)), so only the gradient is re-evaluated
                grad = weigh(model._d1(y[:, None], eta), act).T @ X
                step = np.einsum("bij,bj->bi", Hinv[act], grad)
            else:
                d1, d2 = model._d1_d2(y[:, None], eta)
                grad = weigh(d1, act).T @ X
                hu = weigh(d2, act).T @ XX
                Hm = np.empty((act.size, k, k))
                Hm[:, iu[0], iu[1]] = hu
                Hm[:, iu[1], iu[0]] = hu
                sing = singular(res, Hm, A, symmetric=True)
                if sing.any():          # leaving the unit out leaves the model unidentified
                    Theta[act[sing]] = np.nan
                    keep = ~sing
                    act, T, grad, Hm = act[keep], T[keep], grad[keep], Hm[keep]
                    if act.size == 0:
                        break
                Hi = np.linalg.inv(Hm)
                step = np.einsum("bij,bj->bi", Hi, grad)
                rel = np.max(np.abs(step), axis=1) / np.maximum(1.0, np.max(np.abs(T), axis=1))
                if np.all(rel < 1e-3):  # close enough for chord steps from now on
                    Hinv = np.full((B, k, k), np.nan)
                    Hinv[act] = Hi
            step[~np.all(np.isfinite(step), axis=1)] = 0.0
            new = T - step
            far = np.flatnonzero(np.einsum("bi,bi->b", step, grad) > 0.05)
            if far.size:
                new[far] = _backtrack(loss, T[far], step[far], act[far])
            Theta[act] = new
            # quadratic convergence: after a step of relative size s the error is O(s²),
            # so a step below 0.01·√xtol leaves an error far below xtol
            # (a chord step converges linearly at rate O(|δ|) < 1e-3: ask 10× more of it)
            tol = (0.001 if Hinv is not None else 0.01) * np.sqrt(xtol) * \
                np.maximum(1.0, np.max(np.abs(T), axis=1))
            done = (np.max(np.abs(step), axis=1) <= tol) & np.all(np.isfinite(new), axis=1)
            conv[act[done]] = True
            act = act[~done]
    ok = np.all(np.isfinite(Theta), axis=1)
    return Theta, conv & ok


def _backtrack(loss, T, step, cols):
    """Halve each fit's step until its loss does not increase (at most 30 times)."""
    f0 = loss(T, cols)
    t = np.ones(T.shape[0])
    new = T - step
    f1 = loss(new, cols)
    for _ in range(30):
        worse = f1 > f0 + 1e-13 * (np.abs(f0) + 1.0)
        if not worse.any():
            break
        t[worse] *= 0.5
        new[worse] = T[worse] - t[worse, None] * step[worse]
        f1[worse] = loss(new[worse], cols[worse])
    return new


# --------------------------------------------------------------- accuracy
