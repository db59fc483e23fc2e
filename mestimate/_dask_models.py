"""Dask overrides of the built-in regression models (OLS, Logit, Poisson).

The in-memory classes are untouched: :func:`mestimate._dask.dask_class` puts these
mixins in front of them. Each override is a reduction over partitions whose result
is a few numbers per partition.
"""
from __future__ import annotations

from functools import partial

import numpy as np
from scipy import linalg, special

from ._dask import as_row_dask, block_concat, block_sum
from .exceptions import DataError, PerfectSeparationError

__all__ = ["model_mixins", "block_map"]


def block_map(model, fn) -> list:
    """``[fn(partition model) for each partition]``, computed in one ``dask.compute``."""
    import dask
    from dask import delayed

    from ._dask import _run

    tmpl = delayed(model._template(), pure=False)
    (out,) = dask.compute([delayed(_run, pure=True)(fn, tmpl, p) for p in model._parts()],
                          optimize_graph=False)
    return out


# ------------------------------------------------------------------ regression
def _leverage_block(blk, params, factor):
    return blk._curvature_weights(params) * np.einsum(
        "ij,ji->i", blk.exog, linalg.cho_solve(factor, blk.exog.T))


def _fused_block(blk, params):
    """[Σ w ℓ, Σ w ℓ' x, Σ w ℓ'' x xᵀ] of one partition of an index model, in one pass."""
    f, g, h = blk._index_sums(blk.linear_index(params), "fgh")
    return np.concatenate([[f], g, h.ravel()])


class _RegressionMixin:
    def _row_attrs(self):
        return ("endog", "exog", "weights", "offset")

    def _optimize(self, x0, *, maxiter, xtol, fallback):
        """Newton for index models with the loss, gradient and Hessian of a trial point in one
        pass over the partitions (out of core, each pass re-reads the data: one pass per
        trial point instead of three)."""
        from .models._regression import IndexModel
        from .optimize import newton

        if not isinstance(self, IndexModel):
            return super()._optimize(x0, maxiter=maxiter, xtol=xtol, fallback=fallback)
        k, last = self.k_params, {}

        def state(p):
            key = p.tobytes()
            if last.get("key") != key:
                v = np.asarray(block_sum(self, partial(_fused_block, params=p.copy())),
                               dtype=float) / self.nobs
                last.clear()
                last.update(key=key, f=v[0] if np.isfinite(v[0]) else np.inf, g=v[1:1 + k],
                            h=v[1 + k:].reshape(k, k))
            return last

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return newton(lambda p: state(p)["f"], lambda p: state(p)["g"],
                          lambda p: state(p)["h"], x0, maxiter=maxiter, xtol=xtol,
                          fallback=fallback)

    @property
    def _row_chunks(self):
        return tuple(int(c) for c in self.endog.chunks[0])

    def _as_endog_exog(self, endog, exog):
        X = as_row_dask(exog, None, what="exog")
        if X.ndim == 1:
            X = X[:, None]
        X = X.rechunk({1: -1})
        y = endog if hasattr(endog, "to_dask_array") else as_row_dask(endog, None, what="endog")
        if y.shape[0] != X.shape[0] if not hasattr(y, "to_dask_array") else False:
            raise DataError(f"endog must be (n,) and exog (n, k) with the same n; got "
                            f"{y.shape} and {X.shape}")
        y = as_row_dask(y, tuple(X.chunks[0]), what="endog")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or X.ndim != 2:
            raise DataError(f"endog must be (n,) and exog (n, k) with the same n; got {y.shape} "
                            f"and {X.shape}")
        return y, X

    def leverage(self, params):
        """Lazy hat values, one partition at a time (A = XᵀVX is one reduction)."""
        params = np.asarray(params, dtype=float)
        factor = linalg.cho_factor(self.hessian(params) * self.nobs)
        return block_concat(self, partial(_leverage_block, params=params, factor=factor))


# ------------------------------------------------------------------------ OLS
def _qr_block(blk):
    sw = np.ones(blk._n_rows) if blk.weights is None else np.sqrt(blk.weights)
    q, r = np.linalg.qr(blk.exog * sw[:, None])
    return r, q.T @ (blk.endog * sw)


class _OLSMixin:
    def _optimize(self, x0, *, maxiter, xtol, fallback):
        """Least squares by a one-level TSQR: QR per partition, then of the stacked R's."""
        from .optimize import OptimizeResult

        parts = block_map(self, _qr_block)
        R = np.vstack([p[0] for p in parts])
        c = np.concatenate([p[1] for p in parts])
        beta = np.linalg.lstsq(R, c, rcond=None)[0]
        g = self.gradient(beta)
        f = self.mean_loss(beta)
        return OptimizeResult(beta, f, g, True, 0, float(np.max(np.abs(g), initial=0.0)),
                              "lstsq (TSQR over partitions)", "closed form", [f])


# ---------------------------------------------------------------------- Logit
def _separation_block(blk, params):
    eta = blk.exog @ params
    p = special.expit(eta)
    w = np.ones_like(p) if blk.weights is None else blk.weights
    active = w > 0
    y = blk.endog[active]
    X = blk.exog
    return np.r_[np.count_nonzero((y != 0) & (y != 1)),
                 np.count_nonzero((np.abs(p - blk.endog) < 1e-8)[active]), active.sum(),
                 X.shape[0], np.max(np.abs(eta), initial=0.0), X.sum(0), (X * X).sum(0)]


class _LogitMixin:
    def _check_solution(self, opt):
        """Logit's separation checks from per-partition counts (one pass)."""
        parts = np.array(block_map(self, partial(_separation_block, params=opt.x)))
        k = self.k_params
        sums = parts.sum(0)
        non_binary, exact, active, n = sums[:4]
        max_eta = parts[:, 4].max()
        if non_binary:
            return
        if exact == active:
            raise PerfectSeparationError(
                "perfect separation: the regressors predict every outcome exactly, so the maximum "
                "likelihood estimate does not exist. Remove or merge the separating regressor(s).")
        if exact and (not opt.converged or max_eta > 30):
            mean = sums[5:5 + k] / n
            std = np.sqrt(np.maximum(sums[5 + k:] / n - mean ** 2, 0.0))
            j = int(np.argmax(np.abs(opt.x) * std))
            raise PerfectSeparationError(
                f"quasi-complete separation: {int(exact)} observations are predicted exactly and "
                f"the coefficients diverge (largest standardised: {self.param_names[j]!r}). Remove "
                "or merge the separating regressor(s), or use a penalised model.")


# -------------------------------------------------------------------- Poisson
def _start_block(blk):
    return np.r_[np.all(blk.exog == 1.0, axis=0), blk.endog.sum(), blk._n_rows]


class _PoissonMixin:
    def __init__(self, endog, exog, *, offset=None, **kwargs):
        super().__init__(endog, exog, **kwargs)
        if offset is not None:
            if np.shape(offset) != (self._n_rows,):
                raise DataError(f"offset must have one entry per observation ({self._n_rows})")
            self.offset = as_row_dask(offset, self._row_chunks, what="offset")
            self.__dict__.pop("_parts_cache", None)

    def _default_start_params(self, k):
        parts = np.array(block_map(self, _start_block))
        const = np.flatnonzero(parts[:, :k].all(axis=0))
        start = np.zeros(k)
        if const.size:
            start[const[0]] = np.log(max(parts[:, k].sum() / parts[:, k + 1].sum(), 1e-8))
        return start


def model_mixins():
    """(in-memory class, dask mixin) pairs, most specific first."""
    from .models._regression import RegressionModel
    from .models.glm import Logit, Poisson
    from .models.linear import OLS

    return [(OLS, _OLSMixin), (Logit, _LogitMixin), (Poisson, _PoissonMixin),
            (RegressionModel, _RegressionMixin)]

