"""Choose a covariance by name: one class per covariance type, each overriding only the meat.

``compute_cov(source, cov_type, **cov_kwds)`` works for any *source* that provides the
sandwich protocol (Zeileis 2006), never a model's internals:

- ``estfun() -> (n, k)`` rows ψ_t; ``bread() -> (k, k)`` H_n; attributes ``nobs``, ``k_params``;
- optional ``leverage() -> (n,)`` (may raise MEstimateError), needed by HC2/HC3;
- optional ``design() -> (n, k)`` and ``working_weights() -> (n,)`` (lm/glm), needed by
  clustered HC2/HC3;
- optional ``data_column(name) -> (n,)``, to resolve ``groups="firm"`` or ``order_by="year"``;
- optional ``param_names`` (an "Intercept"/"const" column gets weight 0 in automatic
  HAC bandwidths, as in R) and ``time_ordered`` (False: HAC needs ``order_by``).

New covariance types subclass :class:`CovarianceType`, set ``name`` (and ``aliases``,
``defaults``) and implement ``meat``; they are registered by subclassing, so there is no
if/elif chain over names. "nonrobust" and "bootstrap" belong to the results object.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mestimate.exceptions import DataError, MEstimateError, check_option

from ._checks import as_estfun, as_group_frame
from .bandwidth import bw_andrews, bw_newey_west
from .cluster import _meat_and_sizes
from .hac import meat_hac
from .kernels import KERNEL_LABELS, canonical_kernel
from .sandwich import meat_hc, sandwich

__all__ = ["CovInfo", "CovarianceType", "compute_cov", "available_cov_types"]

_REGISTRY: dict[str, type[CovarianceType]] = {}
_RESULTS_TYPES = ("nonrobust", "bootstrap")
_INTERCEPT_NAMES = {"intercept", "(intercept)", "const", "constant"}


@dataclass(frozen=True)
class CovInfo:
    """What :func:`compute_cov` did, for results objects and summary tables.

    Attributes
    ----------
    cov_type : str
        Canonical name ("HC0", "cluster", "HAC", ...).
    kwds : Mapping
        Resolved options (e.g. the chosen bandwidth), read-only.
    description : str
        One line for summary tables, e.g. "cluster (firm), G = 500, HC1 adj.".
    df : int or None
        Degrees of freedom for t-inference (G − 1 for clusters), else None.
    n_groups : int or None
        Number of clusters (the smallest over dimensions for multi-way).
    """

    cov_type: str
    kwds: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    df: int | None = None
    n_groups: int | None = None


@dataclass(frozen=True)
class _Meat:
    meat: np.ndarray
    kwds: dict[str, Any]
    description: str
    df: int | None = None
    n_groups: int | None = None


class CovarianceType(ABC):
    """One covariance type: a name, its options with defaults, and its meat."""

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.name:
            for key in (cls.name, *cls.aliases):
                _REGISTRY[key.lower()] = cls

    def resolve(self, cov_kwds: Mapping[str, Any]) -> dict[str, Any]:
        """Check keyword names and fill in defaults."""
        unknown = sorted(set(cov_kwds) - set(self.defaults))
        if unknown:
            allowed = ", ".join(repr(a) for a in self.defaults) or "none"
            raise MEstimateError(
                f"unknown cov_kwds {unknown} for cov_type {self.name!r}; allowed keywords: {allowed}"
            )
        return {**self.defaults, **cov_kwds}

    @abstractmethod
    def meat(self, source: Any, estfun: np.ndarray, kwds: dict[str, Any], given: set[str]) -> _Meat:
        """Return the meat and what was resolved."""


def _column(source: Any, value: Any, what: str) -> tuple[np.ndarray | pd.DataFrame, str]:
    """Resolve a column name (or list of names) via ``source.data_column``; return (values, label)."""
    names = [value] if isinstance(value, str) else value
    if isinstance(names, (list, tuple)) and names and all(isinstance(v, str) for v in names):
        if not hasattr(source, "data_column"):
            raise DataError(
                f"{what}={value!r} names a data column, but this model keeps no data columns; "
                "pass the array of values instead"
            )
        cols = {nm: np.asarray(source.data_column(nm)) for nm in names}
        out = pd.DataFrame(cols) if len(names) > 1 else cols[names[0]]
        return out, ", ".join(names)
    if isinstance(value, pd.DataFrame):
        return value, ", ".join(map(str, value.columns))
    if isinstance(value, pd.Series) and value.name is not None:
        return value, str(value.name)
    return value, what


def _leverage(source: Any) -> np.ndarray | None:
    if not hasattr(source, "leverage"):
        return None
    try:
        return np.asarray(source.leverage(), dtype=float)
    except MEstimateError:
        return None


class _HC(CovarianceType):
    hc_type: ClassVar[str] = "HC0"

    def meat(self, source, estfun, kwds, given):
        lev = None
        if self.hc_type in ("HC2", "HC3"):
            lev = _leverage(source)
            if lev is None:
                raise MEstimateError(
                    f"{self.hc_type} needs leverages (hat values), which this model does not "
                    "provide; use cov_type='HC0' or 'HC1'"
                )
        m = meat_hc(estfun, type=self.hc_type, leverage=lev, k=source.k_params, nobs=source.nobs)
        return _Meat(m, {}, f"{self.hc_type} (heteroskedasticity-robust)")


class HC0(_HC):
    name, aliases, hc_type = "HC0", ("sandwich", "robust"), "HC0"


class HC1(_HC):
    name, hc_type = "HC1", "HC1"


class HC2(_HC):
    name, hc_type = "HC2", "HC2"


class HC3(_HC):
    name, hc_type = "HC3", "HC3"


class Cluster(CovarianceType):
    """Cluster-robust (one- or multi-way); ``use_correction`` is statsmodels' switch."""

    name = "cluster"
    defaults = MappingProxyType(
        {"groups": None, "type": "HC1", "cadjust": True, "multi0": False, "use_correction": None}
    )

    def meat(self, source, estfun, kwds, given):
        if kwds["groups"] is None:
            raise MEstimateError("cov_type='cluster' needs cov_kwds={'groups': ...} (labels or a column name)")
        if kwds["use_correction"] is not None:
            if given & {"type", "cadjust"}:
                raise MEstimateError("give either use_correction or type/cadjust, not both")
            corr = bool(kwds["use_correction"])
            kwds["type"], kwds["cadjust"] = ("HC1", True) if corr else ("HC0", False)
        groups, label = _column(source, kwds["groups"], "groups")
        hc = check_option("type", kwds["type"], ("HC0", "HC1", "HC2", "HC3"))
        extra = {}
        if hc in ("HC2", "HC3"):
            extra["leverage"] = _leverage(source)
            if hasattr(source, "design"):
                extra["design"] = source.design()
                if hasattr(source, "working_weights"):
                    extra["working_weights"] = source.working_weights()
        w = getattr(getattr(source, "model", None), "weights", None)
        if w is not None and np.any(w == 0):
            # observations with weight 0 are deleted: a cluster made only of them is no cluster
            keep = np.asarray(w) > 0
            frame = as_group_frame(groups, estfun.shape[0])
            groups = frame.loc[keep].reset_index(drop=True)
            estfun = estfun[keep]
            extra = {k: np.asarray(v)[keep] for k, v in extra.items()}
        m, sizes = _meat_and_sizes(estfun, groups, type=hc, cadjust=kwds["cadjust"],
                                   multi0=kwds["multi0"], k=source.k_params, nobs=source.nobs,
                                   **extra)
        adj = hc + (" + G/(G-1)" if kwds["cadjust"] else "") + (", multi0" if kwds["multi0"] else "")
        desc = f"cluster ({label}), G = {', '.join(map(str, sizes))}, {adj} adj."
        resolved = {k: kwds[k] for k in ("type", "cadjust", "multi0")} | {"n_groups_per_dim": sizes}
        resolved["type"] = hc
        return _Meat(m, resolved, desc, df=min(sizes) - 1, n_groups=min(sizes))


class HAC(CovarianceType):
    """Kernel HAC; defaults are statsmodels' ``cov_type="HAC"`` (Bartlett, no prewhitening)."""

    name = "HAC"
    defaults = MappingProxyType(
        {"maxlags": None, "kernel": "bartlett", "bw": None, "prewhite": False, "adjust": False,
         "bw_method": "newey-west", "order_by": None, "groups": None, "use_correction": None}
    )

    def meat(self, source, estfun, kwds, given):
        n = estfun.shape[0]
        kernel = canonical_kernel(kwds["kernel"])
        bw_method = check_option("bw_method", kwds["bw_method"], ("newey-west", "andrews"))
        if kwds["use_correction"] is not None:
            if "adjust" in given:
                raise MEstimateError("give either use_correction or adjust, not both")
            kwds["adjust"] = bool(kwds["use_correction"])
        maxlags, bw, prewhite = kwds["maxlags"], kwds["bw"], int(kwds["prewhite"])
        if maxlags is not None and bw is not None:
            raise MEstimateError("give either maxlags or bw for HAC, not both")
        if maxlags is not None:
            if int(maxlags) != maxlags or not 0 <= maxlags < n:
                raise MEstimateError(f"maxlags must be an integer in 0..{n - 1} (n = {n}); got {maxlags}")
            if kernel == "quadratic-spectral":
                raise MEstimateError(
                    "the quadratic-spectral kernel has no last lag; give bw instead of maxlags"
                )
            bw = int(maxlags) + (0 if kernel == "truncated" else 1)
        order = groups = None
        if kwds["order_by"] is not None:
            order, _ = _column(source, kwds["order_by"], "order_by")
        elif getattr(source, "time_ordered", True) is False:
            raise MEstimateError(
                "the rows of this model's data are not in time order; HAC needs "
                "cov_kwds={'order_by': <time column or array>}"
            )
        group_label = None
        if kwds["groups"] is not None:
            groups, group_label = _column(source, kwds["groups"], "groups")
        names = [str(p).lower() for p in getattr(source, "param_names", None) or []]
        icol = next((i for i, p in enumerate(names) if p in _INTERCEPT_NAMES), None)
        auto = bw is None
        if auto:
            if groups is not None:
                raise MEstimateError("grouped HAC needs maxlags or bw; automatic bandwidths are per series")
            if bw_method == "newey-west":
                bw = bw_newey_west(estfun, kernel, prewhite=prewhite, intercept_col=icol, order=order)
                if kernel == "bartlett":  # R's NeweyWest: lag = floor(bw), bandwidth lag + 1
                    maxlags = int(np.floor(bw))
                    bw = maxlags + 1
            else:
                bw = bw_andrews(estfun, kernel, prewhite=prewhite, intercept_col=icol, order=order)
        m = meat_hac(estfun, kernel=kernel, bw=float(bw), prewhite=prewhite, adjust=kwds["adjust"],
                     k=source.k_params, nobs=source.nobs, order=order, groups=groups)
        parts = [KERNEL_LABELS[kernel], f"bandwidth {float(bw):.3g}"]
        if maxlags is not None and kernel != "quadratic-spectral":
            parts.append(f"{int(maxlags)} lags")
        if auto:
            parts.append(f"{bw_method} bandwidth")
        if prewhite:
            parts.append("prewhitened")
        if kwds["adjust"]:
            parts.append("n/(n-k) adj.")
        if group_label is not None:
            parts.append(f"within {group_label}")
        resolved = {"kernel": kernel, "bw": float(bw), "maxlags": maxlags, "prewhite": prewhite,
                    "adjust": bool(kwds["adjust"]), "bw_method": bw_method if auto else None}
        return _Meat(m, resolved, f"HAC ({', '.join(parts)})")


def available_cov_types() -> tuple[str, ...]:
    """Names accepted by :func:`compute_cov` (plus the results object's "nonrobust", "bootstrap").

    Examples
    --------
    >>> "cluster" in available_cov_types()
    True
    """
    return tuple(dict.fromkeys(cls.name for cls in _REGISTRY.values()))


def compute_cov(source: Any, cov_type: str, **cov_kwds: Any) -> tuple[np.ndarray, CovInfo]:
    """Sandwich covariance of θ̂ of the given type, and what was resolved.

    Parameters
    ----------
    source : object
        Provides ``estfun()``, ``bread()``, ``nobs``, ``k_params`` (see the module notes).
    cov_type : str
        "HC0" (aliases "sandwich", "robust"), "HC1", "HC2", "HC3", "cluster", "HAC".
    **cov_kwds
        Options of the type (unknown names are an error listing the allowed ones).
        cluster: groups, type, cadjust, multi0, use_correction. HAC: maxlags, kernel,
        bw, prewhite, adjust, bw_method, order_by, groups, use_correction.

    Returns
    -------
    cov : (k, k) ndarray
    info : CovInfo

    Notes
    -----
    ``cov = (1/n) H⁻¹ M H⁻¹`` with M the type's meat. HAC's defaults match statsmodels'
    ``cov_type="HAC"`` (Bartlett, no prewhitening, no adjustment; maxlags=L equals R's
    ``NeweyWest(lag = L, prewhite = FALSE)``); ``maxlags=None`` picks R's NeweyWest lag.

    Examples
    --------
    >>> import numpy as np
    >>> class Src:
    ...     nobs, k_params = 4, 1
    ...     def estfun(self): return np.array([[1.0], [1.0], [-1.0], [2.0]])
    ...     def bread(self): return np.eye(1)
    >>> cov, info = compute_cov(Src(), "cluster", groups=[1, 1, 2, 2], type="HC0")
    >>> cov, info.description, info.df
    (array([[0.625]]), 'cluster (groups), G = 2, HC0 + G/(G-1) adj.', 1)
    """
    key = str(cov_type).lower()
    if key not in _REGISTRY:
        allowed = ", ".join(repr(a) for a in (*_RESULTS_TYPES[:1], *available_cov_types(), _RESULTS_TYPES[1]))
        hint = (" ('nonrobust' and 'bootstrap' are computed by the results object)"
                if key in _RESULTS_TYPES else "")
        raise MEstimateError(f"unknown cov_type {cov_type!r}{hint}; allowed values are: {allowed}")
    cov_cls = _REGISTRY[key]()
    kwds = cov_cls.resolve(cov_kwds)
    estfun = as_estfun(source.estfun(), check_finite=False)  # the meat functions check it
    if estfun.shape[1] != source.k_params:
        raise DataError(f"estfun has {estfun.shape[1]} columns but the model has {source.k_params} parameters")
    res = cov_cls.meat(source, estfun, kwds, set(cov_kwds))
    cov = sandwich(source.bread(), res.meat, source.nobs)
    info = CovInfo(cov_cls.name, MappingProxyType(res.kwds), res.description, res.df, res.n_groups)
    return cov, info
