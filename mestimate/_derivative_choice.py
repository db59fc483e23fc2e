"""How an :class:`~mestimate.MEstimator` gets the derivatives the user did not supply.

Decided once when the model is built (so that fitting never changes it): forward-mode
autodiff of the user's numpy code when it allows it (:mod:`mestimate.autodiff`), else the
complex step, else central differences (:mod:`mestimate.derivatives`); and, for autodiff,
the memory a jet holds per observation, which sizes the chunks of the sums over
observations.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import autodiff as ad
from . import derivatives as nd
from .exceptions import MEstimateError

__all__ = ["DerivativeChoice"]


class DerivativeChoice:
    """Mixin of :class:`~mestimate.MEstimator`: the choice of numerical derivatives and the
    autodiff evaluations shared by its gradient, Hessian and Newton iterations."""

    def _choose_numeric_method(self) -> str:
        """Forward-mode autodiff when the loss allows it (checked on up to 1,000 rows against
        numerical derivatives), else complex step when the loss is complex-safe, else central
        differences."""
        rows = slice(0, min(self._n_rows, 1000))
        choice = getattr(self, "derivatives", "auto")
        if choice in ("auto", "autodiff") and self._user_loss is not None \
                and not self._overrides("loss_obs"):
            d = self._rows(rows)
            reason = ad.unsupported_reason(lambda p: self._user_loss(p, d), self.start_params)
            if reason is None:
                return "autodiff"
            if choice == "autodiff":
                raise MEstimateError(f"derivatives='autodiff' is not possible for this loss: "
                                     f"{reason}. Use derivatives='auto' (complex step or central "
                                     "differences) or supply score=")
        if choice == "central":
            return "central"
        f = lambda p: self.loss_obs(p, rows)  # noqa: E731
        safe = nd.is_complex_safe(f, self.start_params)
        if choice == "complex" and not safe:
            raise MEstimateError("derivatives='complex' is not possible: the loss does not accept "
                                 "complex parameters (np.abs, np.maximum, np.logaddexp, ... are not "
                                 "complex-safe). Use derivatives='auto' or 'central'")
        return "complex" if safe else "central"

    def _check_score_autodiff(self) -> bool:
        """Whether the Jacobian of a supplied score (or ψ) can be taken by forward-mode autodiff
        when no Hessian is supplied (checked on up to 1,000 rows)."""
        if self._user_score is None or self._user_hessian is not None \
                or self._overrides("score_obs") or self._overrides("hessian") \
                or getattr(self, "derivatives", "auto") not in ("auto", "autodiff"):
            return False
        d = self._rows(slice(0, min(self._n_rows, 1000)))
        return ad.agrees_with_numerical(lambda p: self._user_score(p, d), self.start_params,
                                        second=False)

    def _measure_jet_row_bytes(self) -> int:
        """Bytes per observation that a jet evaluation holds (measured once, on up to 256
        rows, times 3 for the intermediates), so that chunked autodiff sums stay near the
        reducer's 64 MB whatever the loss builds (an n × m × k gradient for m categories...);
        0 when autodiff is not used."""
        if self._derivative_method == "autodiff" and self._user_score is None:
            fn, order = self._user_loss, 2
        elif self._score_autodiff:
            fn, order = self._user_score, 1
        else:
            return 0
        if self._dask_backed:  # measured on the in-memory partitions' models instead
            return 0
        m = min(self._n_rows, 256)
        with np.errstate(all="ignore"):
            jet = self._jet(fn, self.start_params, slice(0, m), order)
        return 3 * ad.nbytes(jet) // m + 1

    def _jet_chunk_bytes(self, default: int) -> int:
        return getattr(self, "_jet_row_bytes", 0) or default

    def _jet(self, fn: Callable, params, rows, order: int) -> "ad.Jet":
        """``fn(params, data rows)`` evaluated on the jet of ``params``."""
        d = self._rows(rows)
        return ad.evaluate(lambda p: fn(p, d), params, order=order)

    def _check_score_complex(self) -> bool:
        """Whether a supplied score (or ψ) can be differentiated by complex step when the
        Hessian must be computed numerically (checked on up to 1,000 rows against central
        differences)."""
        if self._user_score is None and not self._overrides("score_obs"):
            return False
        if self._user_hessian is not None or self._overrides("hessian"):
            return False
        rows = slice(0, min(self._n_rows, 1000))
        return nd.is_complex_safe(lambda p: self.score_obs(p, rows).sum(axis=0), self.start_params)

    def _autodiff_pair(self):
        """Gradient and Hessian functions for Newton that share one second-order jet
        evaluation per point (Newton asks for both at each iterate)."""
        k, last = self.k_params, {}

        def both(params):
            key = params.tobytes()
            if last.get("key") != key:
                def part(r):
                    jet = self._jet(self._user_loss, params, r, 2)
                    w = self._w(r)
                    return np.concatenate([ad.gradient_sum(jet, w), ad.hessian_sum(jet, w).ravel()])
                total = self._reducer.sum(part, row_bytes=self._jet_chunk_bytes(64 * k)) / self.nobs
                last.update(key=key, grad=total[:k], hess=total[k:].reshape(k, k))
            return last

        return (lambda p: both(np.asarray(p, dtype=float))["grad"],
                lambda p: both(np.asarray(p, dtype=float))["hess"])
