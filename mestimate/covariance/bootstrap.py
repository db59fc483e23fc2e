"""Nonparametric bootstrap covariance by warm-started, weighted refits.

A bootstrap resample is a vector of frequency weights (how often each observation,
cluster or block is drawn), so a replicate is ``results.refit(weights=counts)``,
warm-started from θ̂: no data are copied and any model that accepts weights gets the
bootstrap for free.

Schemes
-------
- ``"iid"``: n observations drawn with replacement (multinomial counts).
- ``"cluster"``: G clusters drawn with replacement; every observation of a drawn cluster
  gets the cluster's count.
- ``"block"``: moving-block bootstrap for a sequence in order (Künsch 1989): ⌈n/ℓ⌉ blocks
  of ``block_length`` ℓ consecutive observations with uniformly drawn starts; an
  observation's weight is how many drawn blocks cover it (the last block is trimmed to n).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exceptions import InferenceWarning, MEstimateError, check_option

__all__ = ["bootstrap_cov", "bootstrap_weights", "check_bootstrap_kwds", "BootstrapInfo"]

_ALLOWED = ("reps", "seed", "scheme", "groups", "block_length", "progress")


@dataclass(frozen=True)
class BootstrapInfo:
    """How a bootstrap covariance was computed (shown in summaries)."""

    cov_type: str
    kwds: dict
    description: str
    replicates: np.ndarray = field(repr=False)
    n_failed: int = 0
    df: float | None = None
    n_groups: int | None = None


def check_bootstrap_kwds(kwds: dict) -> dict:
    """Validate bootstrap options; unknown keywords raise an error listing the allowed ones."""
    unknown = sorted(set(kwds) - set(_ALLOWED))
    if unknown:
        raise MEstimateError(f"unknown bootstrap option(s) {unknown}; allowed: {list(_ALLOWED)}")
    out = dict(kwds)
    out["scheme"] = check_option("scheme", out.get("scheme", "cluster" if "groups" in out else "iid"),
                                 ["iid", "cluster", "block"])
    reps = int(out.get("reps", 200))
    if reps < 2:
        raise MEstimateError(f"reps must be at least 2, got {reps}")
    out["reps"] = reps
    out.setdefault("seed", 0)
    return out


def bootstrap_weights(rng: np.random.Generator, n: int, scheme: str = "iid", *, groups=None,
                      block_length: int | None = None) -> np.ndarray:
    """One resample as frequency weights of the n observations.

    Examples
    --------
    >>> w = bootstrap_weights(np.random.default_rng(0), 10)
    >>> int(w.sum())
    10
    >>> w = bootstrap_weights(np.random.default_rng(0), 10, "block", block_length=3)
    >>> int(w.sum())
    10
    """
    if scheme == "iid":
        return rng.multinomial(n, np.full(n, 1.0 / n)).astype(float)
    if scheme == "cluster":
        codes, n_groups = groups
        counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups)).astype(float)
        return counts[codes]
    length = int(block_length)
    n_blocks = -(-n // length)
    starts = rng.integers(0, n - length + 1, size=n_blocks)
    cover = np.zeros(n + 1)
    np.add.at(cover, starts, 1.0)
    np.add.at(cover, starts + length, -1.0)
    w = np.cumsum(cover)[:n]
    # trim the total to n by removing the tail of the last block drawn
    excess = int(w.sum()) - n
    if excess > 0:
        last = starts[-1]
        w[last + length - excess:last + length] -= 1.0
    return w


def _resolve_groups(res, groups):
    if groups is None:
        raise MEstimateError("scheme='cluster' needs groups= (an array or a column name)")
    g = res.data_column(groups) if isinstance(groups, str) else np.asarray(groups)
    if g.shape[0] != res.model._n_rows:
        raise MEstimateError(f"groups has {g.shape[0]} entries; the model has {res.model._n_rows} rows")
    if pd.isna(g).any():
        raise MEstimateError("groups contain missing values")
    codes = np.unique(g, return_inverse=True)[1].ravel()
    return codes, int(codes.max()) + 1


def bootstrap_cov(res, *, reps: int = 200, seed=0, scheme: str = "iid", groups=None,
                  block_length: int | None = None, progress: bool | None = None):
    """Bootstrap covariance of θ̂: the sample covariance of ``reps`` refitted estimates.

    Parameters
    ----------
    res : MEstimatorResults
    reps : int
        Number of bootstrap replicates.
    seed : int or Generator
        Seed of ``numpy.random.default_rng``; the same seed gives the same covariance.
    scheme : {"iid", "cluster", "block"}
    groups : array or column name
        Clusters for ``scheme="cluster"``.
    block_length : int, optional
        For ``"block"``; default ⌈n^{1/3}⌉.
    progress : bool, optional
        Show a tqdm progress bar (default: when tqdm is installed and reps ≥ 50).

    Returns
    -------
    cov : ndarray (k, k)
    info : BootstrapInfo
        With the replicates and the number of failed refits (excluded, with a warning).

    Notes
    -----
    Var̂[θ̂] = (1/(B−1)) Σ_b (θ̂*_b − θ̄*)(θ̂*_b − θ̄*)ᵀ. Each replicate is a Newton fit
    warm-started from θ̂ with the resample's frequency weights times the model's weights.
    """
    n = res.model._n_rows
    rng = np.random.default_rng(seed)
    scheme = check_option("scheme", scheme, ["iid", "cluster", "block"])
    grp = _resolve_groups(res, groups) if scheme == "cluster" else None
    if scheme == "block":
        block_length = int(block_length or np.ceil(n ** (1 / 3)))
        if not 1 <= block_length <= n:
            raise MEstimateError(f"block_length must be between 1 and n = {n}")
    base_w = np.ones(n) if res.model.weights is None else res.model.weights
    it = range(reps)
    if progress or (progress is None and reps >= 50):
        try:
            from tqdm.auto import tqdm
            it = tqdm(it, desc="bootstrap", leave=False, disable=progress is None and reps < 50)
        except ImportError:
            pass
    x0 = res.params.to_numpy()
    draws, failed = [], 0
    for _ in it:
        w = bootstrap_weights(rng, n, scheme, groups=grp, block_length=block_length) * base_w
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = res.model.with_weights(w).fit(start_params=x0, cov_type="nonrobust")
            if not r.converged:
                failed += 1
                continue
            draws.append(r.params.to_numpy())
        except MEstimateError:
            failed += 1
    draws = np.asarray(draws)
    if draws.shape[0] < 2:
        raise MEstimateError(f"only {draws.shape[0]} of {reps} bootstrap refits succeeded; "
                             "the bootstrap covariance cannot be computed")
    if failed:
        warnings.warn(f"{failed} of {reps} bootstrap refits failed (not converged or not "
                      "identified) and were excluded", InferenceWarning, stacklevel=3)
    cov = np.cov(draws, rowvar=False, ddof=1).reshape(res.k_params, res.k_params)
    extra = {"iid": "", "cluster": f", G = {grp[1] if grp else ''}",
             "block": f", block length {block_length}"}[scheme]
    desc = f"bootstrap ({scheme}, B = {reps}{extra}, seed {seed}" + \
        (f", {failed} failed)" if failed else ")")
    kwds = {"reps": reps, "seed": seed, "scheme": scheme, "block_length": block_length}
    return cov, BootstrapInfo("bootstrap", kwds, desc, draws, failed,
                              n_groups=grp[1] if grp else None)
