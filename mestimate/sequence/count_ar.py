"""Autoregressions for counts (Poisson) and binary series (logistic): GLMs on lagged designs.

The losses, derivatives, separation checks and leverages are those of
:class:`mestimate.models.glm.Poisson` and :class:`mestimate.models.glm.Logit`; these
classes only add the lagged design of :class:`~mestimate.sequence.ar.AutoregressiveModel`.
"""
from __future__ import annotations

import numpy as np

from ..models.glm import Logit, Poisson
from .ar import AutoregressiveModel

__all__ = ["PoissonAR", "LogisticAR"]


class PoissonAR(AutoregressiveModel, Poisson):
    """Log-linear Poisson autoregression for count sequences.

    x_t | past ~ Poisson(μ_t),  log μ_t = c + Σ_j φ_j log(1 + x_{t−j}) + exog_tᵀγ.

    Parameters
    ----------
    y : sequence(s) of non-negative counts
        One or many (see :class:`~mestimate.sequence.ar.AutoregressiveModel`).
    lags : int
        p ≥ 1.
    exog, trend, groups, weights
        See :class:`~mestimate.sequence.ar.AutoregressiveModel`.
    offset : array_like, optional
        Added to log μ_t, one value per observation (step).

    Notes
    -----
    The lags enter as ``lag_j`` = log(1 + x_{t−j}) (Fokianos & Tjøstheim 2011): on the log
    scale of μ, so φ_j is an elasticity, zero counts are allowed, and φ_j > 0 does not make
    μ_t explode as raw counts in the exponent would. The loss is the Poisson negative
    log-likelihood of x_t given the past, L_t = μ_t − x_t log μ_t + log x_t!, i.e.
    ``sm.GLM(x_t, Z, family=Poisson())`` / R ``glm(family = poisson)`` on the lagged
    design Z (``res.model.exog``).

    References
    ----------
    Fokianos, K. and Tjøstheim, D. (2011) Log-linear Poisson autoregression. J. Multivariate
    Analysis 102, 563–578.

    Examples
    --------
    >>> import numpy as np
    >>> from mestimate.sequence.count_ar import PoissonAR
    >>> y = np.array([0, 1, 3, 2, 4, 1, 0, 2, 5, 3, 2, 1, 0, 1, 2])
    >>> res = PoissonAR(y, lags=1).fit(cov_type="nonrobust")
    >>> res.param_names
    ['const', 'lag1']
    >>> res.model.exog[:2, 1].round(4)          # log(1 + 0), log(1 + 1)
    array([0.    , 0.6931])
    """

    @staticmethod
    def _transform_lags(lagged: np.ndarray) -> np.ndarray:
        return np.log1p(lagged)


class LogisticAR(AutoregressiveModel, Logit):
    """Logistic autoregression for binary sequences (a binary Markov chain of order p).

    P(x_t = 1 | past) = 1 / (1 + e^{−η_t}),  η_t = c + Σ_j φ_j x_{t−j} + exog_tᵀγ.

    Parameters
    ----------
    y : sequence(s) of 0/1 values (proportions in [0, 1] give the quasi-likelihood)
    lags : int
        p ≥ 1.
    exog, trend, groups, weights
        See :class:`~mestimate.sequence.ar.AutoregressiveModel`.

    Notes
    -----
    The loss is the Bernoulli negative log-likelihood L_t = log(1 + e^{η_t}) − x_t η_t, i.e.
    ``sm.GLM(x_t, Z, family=Binomial())`` / R ``glm(family = binomial)`` on the lagged design
    Z. With p = 1, a constant and no exog the model is saturated: φ̂_1 is the log odds ratio
    of the 2 × 2 table of transitions. Separation (e.g. a state that is never left) raises
    :class:`~mestimate.exceptions.PerfectSeparationError`.

    Examples
    --------
    >>> import numpy as np
    >>> from mestimate.sequence.count_ar import LogisticAR
    >>> y = np.array([0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0])
    >>> res = LogisticAR(y, lags=1).fit(cov_type="nonrobust")
    >>> round(float(res.params["lag1"]), 4)       # log odds ratio of the 2 x 2 transition table
    -0.2877
    >>> round(float(np.log((4 / 4) / (4 / 3))), 4)  # from 1: 4 → 1, 4 → 0; from 0: 4 → 1, 3 → 0
    -0.2877
    """
