"""Autoregressive likelihood models: one M-estimation observation per (sequence, position).

For sequences x_1..x_T (one or many) and p lags, the loss of step t is

    L(z_t; θ) = −log P(x_t | x_{t−1}, ..., x_{t−p}, exog_t; θ),     t = p+1..T,

so the first p items of each sequence are conditioning only (conditional, "CSS",
likelihood). :class:`AutoregressiveModel` builds the lagged design once
(:mod:`mestimate.sequence._ar_data`) and hands it to a regression model; the concrete
models only say how the lags are transformed and what the loss is:
:class:`~mestimate.sequence.gaussian_ar.GaussianAR`,
:class:`~mestimate.sequence.count_ar.PoissonAR` and
:class:`~mestimate.sequence.count_ar.LogisticAR`.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import DataError, InferenceWarning, MEstimateError
from ..formula import design_from_formula
from ..models._regression import RegressionModel
from ._ar_data import lagged_data

__all__ = ["AutoregressiveModel"]

#: below this many sequences the default cluster covariance is flagged as doubtful
MIN_CLUSTERS = 10


class AutoregressiveModel(RegressionModel):
    """Base class of autoregressive models on one or many sequences.

    Parameters
    ----------
    y : 1-d array or Series, list of them, or dict name → sequence
        The sequence(s). A Series' index labels the observations of a single sequence.
    lags : int
        Order p ≥ 1: the lagged terms ``lag1..lagp`` are f(x_{t−1})..f(x_{t−p}).
    exog : array_like, DataFrame, list or dict, optional
        Contemporaneous regressors (one row per item, shaped like ``y``, or one array with
        the rows of the concatenated sequences). The rows of the first p items of each
        sequence are not used.
    trend : {"c", "n", "t", "ct"}
        Deterministic terms: a constant ``const``, none, a time trend ``trend`` (position
        t within the sequence, 1-based as in statsmodels), or both.
    groups : array_like, optional
        With a 1-d ``y``: one sequence label per item; the items of a label, in order, form
        a sequence.
    weights : array_like, optional
        One non-negative weight per observation (step), i.e. per row of ``exog_design``.
    **kwargs
        Passed to :class:`~mestimate.models._regression.RegressionModel`.

    Attributes
    ----------
    sequence_ids : ndarray
        The sequence name of each observation.
    positions : ndarray
        0-based position t of each observation's item in its sequence (≥ p).
    n_sequences : int
    sequence_names : list
    lags : int
    exog : ndarray
        The lagged design (trend terms, ``lag1..lagp``, exog), one row per observation.

    Notes
    -----
    **Default covariance** (``fit()`` without ``cov_type``): the scores of a correctly
    specified autoregression are martingale differences, so ``"nonrobust"`` or ``"HC0"``
    are valid then; the default protects against misspecified dynamics. One sequence:
    ``cov_type="HAC"`` with R's NeweyWest automatic lag (``cov_kwds={"maxlags": None}``,
    Bartlett kernel). Many sequences: ``cov_type="cluster"`` with
    ``groups="sequence"`` (the scores of a sequence are summed, G = number of sequences,
    HC1 + G/(G − 1) adjustment as R's ``vcovCL``); an :class:`InferenceWarning` is issued
    below 10 sequences. An explicit ``cov_type="HAC"`` on many sequences is computed
    within sequences (``groups="sequence"`` is added) and needs ``maxlags`` or ``bw``.
    The name ``"sequence"`` (and ``"position"``) can be used wherever a column name is
    accepted, e.g. ``res.cov_params("cluster", groups="sequence")``.

    **Leaving out sequences**: ``res.loo_params("exact", groups="sequence")`` (and the
    influence functions with ``groups="sequence"``) remove every step of a sequence,
    which is the same as removing the sequence. Leaving out one observation (weight 0)
    removes the term −log P(x_t | past) only: the item x_t still enters the next p
    steps as a lag, so "remove this step's term" is not "remove this data point".
    """

    def __init__(self, y, lags: int = 1, exog=None, *, trend: str = "c", groups=None,
                 weights=None, **kwargs):
        d = lagged_data(y, lags, exog=exog, trend=trend, groups=groups,
                        transform=self._transform_lags, validate=self._validate_series)
        self.lags = int(lags)
        self.trend = str(trend).lower()
        self.sequence_ids = d.sequence_ids
        self.positions = d.positions
        self.sequence_names = d.names
        self.sequence_lengths = pd.Series(d.lengths, index=pd.Index(d.names, name="sequence"),
                                          name="length")
        self.n_sequences = len(d.names)
        self._source_rows = d.source_rows
        name = getattr(y, "name", None) if isinstance(y, pd.Series) else None
        endog = pd.Series(d.endog, index=d.row_index, name=name or "y")
        super().__init__(endog, d.design, weights=weights, **kwargs)

    # ------------------------------------------------------------ model hooks
    @staticmethod
    def _transform_lags(lagged: np.ndarray) -> np.ndarray:
        """f applied to the lagged items (identity here)."""
        return lagged

    def _validate_series(self, values: np.ndarray) -> None:
        """Checks of every item (also the conditioning ones); the response's check by default."""
        self._validate_endog(values)

    # ------------------------------------------------------------ formulas
    @classmethod
    def from_formula(cls, formula: str, data, lags: int = 1, *, groups=None, **kwargs):
        """``Model.from_formula("y ~ x", data, lags=2)``: lags of y plus the regressors x.

        Parameters
        ----------
        formula : str
            A patsy formula. The left-hand side is the sequence; the right-hand side gives
            contemporaneous regressors. The formula's intercept becomes ``trend="c"``
            (named ``const``); ``"y ~ 1"`` is a pure autoregression, ``"y ~ x - 1"`` has no
            constant.
        data : DataFrame
            Rows in time order (within each sequence).
        lags : int
        groups : str or array_like, optional
            Column (or labels) naming the sequence of each row.
        **kwargs
            Passed to the constructor (``trend="ct"`` adds a time trend).

        Notes
        -----
        Missing values raise an error: dropping a row would make x_{t−2} look like x_{t−1}.
        """
        y, X, info = design_from_formula(formula, data, "raise")
        has_const = "Intercept" in X.columns
        trend = kwargs.pop("trend", "c" if has_const else "n")
        if ("c" in str(trend).lower()) != has_const:
            raise DataError(f"trend={trend!r} contradicts the formula {formula!r}: the "
                            "intercept is set by the formula (add or remove '- 1')")
        X = X.drop(columns="Intercept") if has_const else X
        if isinstance(groups, str):
            if groups not in info.frame.columns:
                raise DataError(f"groups={groups!r} is not a column of data")
            groups = info.frame[groups].to_numpy()
        return cls(y, lags, exog=X if X.shape[1] else None, trend=trend, groups=groups,
                   formula=info, **kwargs)

    # ------------------------------------------------------------ data access
    def data_column(self, name: str) -> np.ndarray:
        """Per-observation values of ``"sequence"``, ``"position"``, a design column
        (``"lag1"``...) or a column of the formula's data frame."""
        if name == "sequence":
            return self.sequence_ids
        if name == "position":
            return self.positions
        if name in self.exog_names:
            return self.exog[:, self.exog_names.index(name)]
        if self.frame is not None and name in self.frame.columns:
            return self.frame[name].to_numpy()[self._source_rows]
        raise DataError(f"no column {name!r}: use 'sequence', 'position', a design column "
                        f"({', '.join(self.exog_names)}) or a column of the formula's data")

    def _exog_for_predict(self, exog):
        if exog is None:
            return self.exog
        if isinstance(exog, (pd.DataFrame, dict)):
            raise DataError("predict takes rows of the lagged design (columns "
                            f"{', '.join(self.exog_names)}), not a data frame: lags of new data "
                            "are not built here")
        X = np.asarray(exog, dtype=float)
        X = X[None, :] if X.ndim == 1 else X
        if X.shape[1] != len(self.exog_names):
            raise DataError(f"exog for predict needs {len(self.exog_names)} columns "
                            f"({', '.join(self.exog_names)}), got {X.shape[1]}")
        return X

    # ------------------------------------------------------------ fitting
    def default_cov(self, cov_type: str | None = None, cov_kwds: dict | None = None):
        """The ``(cov_type, cov_kwds)`` that :meth:`fit` uses (see the class Notes).

        Examples
        --------
        >>> import numpy as np
        >>> from mestimate.sequence.gaussian_ar import GaussianAR
        >>> rng = np.random.default_rng(1)
        >>> GaussianAR(rng.normal(size=50), lags=1).default_cov()
        ('HAC', {'maxlags': None})
        >>> seqs = [rng.normal(size=20) for _ in range(12)]
        >>> GaussianAR(seqs, lags=1).default_cov()
        ('cluster', {'groups': 'sequence'})
        """
        kwds = dict(cov_kwds or {})
        if cov_type is None:
            if kwds:
                raise MEstimateError("cov_kwds were given without cov_type; name the "
                                     "covariance type")
            if self.n_sequences == 1:
                return "HAC", {"maxlags": None}
            return "cluster", {"groups": "sequence"}
        if isinstance(cov_type, str) and cov_type.upper() == "HAC" and self.n_sequences > 1 \
                and kwds.get("groups") is None:
            if kwds.get("maxlags") is None and kwds.get("bw") is None:
                raise MEstimateError(
                    f"HAC on {self.n_sequences} sequences is computed within sequences and needs a "
                    "fixed bandwidth: pass cov_kwds={'maxlags': L} (or 'bw'), or use the default "
                    "cov_type='cluster' (by sequence)")
            kwds["groups"] = "sequence"
        return cov_type, kwds

    def complete_cov_kwds(self, cov_type: str, cov_kwds: dict) -> tuple[str, dict]:
        """Hook used by the results for every covariance request: HAC on many sequences is
        computed within sequences (``groups="sequence"`` added), as at fit time."""
        return self.default_cov(cov_type, cov_kwds)

    def fit(self, start_params=None, *, cov_type: str | None = None, cov_kwds: dict | None = None,
            **kwds):
        """Fit; without ``cov_type`` the covariance is :meth:`default_cov`'s (see the class Notes).

        Other arguments as :meth:`mestimate.MEstimator.fit`.
        """
        chosen = cov_type is None
        cov_type, cov_kwds = self.default_cov(cov_type, cov_kwds)
        if chosen and cov_type == "cluster" and self.n_sequences < MIN_CLUSTERS:
            warnings.warn(f"the default covariance clusters by sequence, but with only "
                          f"{self.n_sequences} sequences cluster-robust standard errors are "
                          "unreliable; consider cov_type='HAC' with cov_kwds={'maxlags': L} "
                          "(within sequences) or 'nonrobust'", InferenceWarning, stacklevel=2)
        return super().fit(start_params, cov_type=cov_type, cov_kwds=cov_kwds, **kwds)
