"""Sandwich covariances of dask-backed fits without materialising estfun.

Each meat is a reduction over the partitions of the lazy estfun (rows ψ_t):

- HC0–HC3: Σ_t ψ_t ψ_tᵀ / (1 − h_t)^p per partition (leverages h_t lazy as well);
- cluster: per-partition sums of ψ_t within each cluster, merged across partitions
  in a tree (a cluster may span partitions), then Σ_g U_g U_gᵀ on a worker;
- HAC (fixed bandwidth): per partition, the weighted autocovariances of the
  partition extended by the first L rows of the next one, minus those of that head
  (counted by the next partition), so every pair (s, t) with t − s ≤ L counts once.

Options and scalings are those of :func:`mestimate.covariance.compute_cov`, whose
keyword checking is reused; only the k × k meat (and the number of clusters) reaches
the client.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from ._dask import as_row_dask, is_dask, refuse, tree_sum
from .covariance.dispatch import _REGISTRY, CovInfo
from .covariance.hac import weighted_autocovariance
from .covariance.kernels import KERNEL_LABELS, canonical_kernel, hac_weights
from .covariance.sandwich import meat_hc, sandwich
from .exceptions import DataError, MEstimateError, check_option

__all__ = ["dask_cov"]


def _blocks(arr):
    return list(arr.to_delayed().reshape(len(arr.chunks[0]), -1)[:, 0])


def _compute(value):
    import dask

    return dask.compute(value)[0]


# ---------------------------------------------------------------------- HC
def _hc_block(u, h, hc_type):
    if hc_type in ("HC2", "HC3"):
        return meat_hc(u, type=hc_type, leverage=h, nobs=1)
    return u.T @ u


def _meat_hc(res, U, hc_type):
    from dask import delayed

    hs = [None] * len(U.chunks[0])
    if hc_type in ("HC2", "HC3"):
        if not hasattr(res.model, "leverage"):
            raise MEstimateError(f"{hc_type} needs leverages (hat values), which this model does "
                                 "not provide; use cov_type='HC0' or 'HC1'")
        hs = _blocks(res.model.leverage(res.params.to_numpy()))
    total = _compute(tree_sum([delayed(_hc_block)(u, h, hc_type) for u, h in zip(_blocks(U), hs)]))
    n, k = res.nobs, res.k_params
    if hc_type == "HC1":
        if n <= k:
            raise MEstimateError(f"HC1 needs more observations than parameters; got n={n}, k={k}")
        total = total * n / (n - k)
    return total / n, {}, f"{hc_type} (heteroskedasticity-robust)", None, None


# ------------------------------------------------------------------ cluster
def _group_dims(res, groups, chunks):
    """Cluster labels as a list of dask arrays (one per dimension) split like the data."""
    if isinstance(groups, str) or (isinstance(groups, (list, tuple)) and groups
                                   and all(isinstance(g, str) for g in groups)):
        names = [groups] if isinstance(groups, str) else list(groups)
        return [res.model.data_column(nm) for nm in names], ", ".join(names)
    if isinstance(groups, pd.DataFrame) or (hasattr(groups, "columns") and is_dask(groups)):
        cols = list(groups.columns)
        return [as_row_dask(groups[c], chunks, what="groups", dtype=None) for c in cols], \
            ", ".join(map(str, cols))
    if isinstance(groups, (list, tuple)) and groups and all(np.ndim(g) == 1 for g in groups) \
            and not all(np.ndim(g) == 0 for g in groups):
        return [as_row_dask(g, chunks, what="groups", dtype=None) for g in groups], "groups"
    arr = groups if is_dask(groups) else np.asarray(groups)
    if arr.ndim == 2:
        return [as_row_dask(arr[:, j], chunks, what="groups", dtype=None)
                for j in range(arr.shape[1])], "groups"
    label = str(groups.name) if isinstance(groups, pd.Series) and groups.name is not None else "groups"
    return [as_row_dask(arr, chunks, what="groups", dtype=None)], label


def _cluster_block(u, subsets, *labels):
    keys = [pd.Series(lab).reset_index(drop=True) for lab in labels]
    if any(k.isna().any() for k in keys):
        raise DataError("cluster labels contain missing values (NaN/None); give every "
                        "observation a cluster")
    frame = pd.DataFrame(u)
    return [frame.groupby([keys[i] for i in s], sort=False).sum() for s in subsets]


def _merge(*parts):
    return [pd.concat(frames).groupby(level=list(range(frames[0].index.nlevels)), sort=False).sum()
            for frames in zip(*parts)]


def group_sums_tree(U, dims, subsets):
    """Delayed list (one per subset of dimensions) of the sums of the rows of U per cluster."""
    from dask import delayed

    label_blocks = [_blocks(d) for d in dims]
    parts = [delayed(_cluster_block)(u, subsets, *[lb[i] for lb in label_blocks])
             for i, u in enumerate(_blocks(U))]
    while len(parts) > 1:
        parts = [delayed(_merge)(*parts[i:i + 8]) for i in range(0, len(parts), 8)]
    return parts[0]


def _cluster_finish(sums):
    return [(s.to_numpy().T @ s.to_numpy(), len(s)) for s in sums]


def _meat_cluster(res, U, kwds, given):
    from dask import delayed

    if kwds["groups"] is None:
        raise MEstimateError("cov_type='cluster' needs cov_kwds={'groups': ...} (labels or a column name)")
    if kwds["use_correction"] is not None:
        if given & {"type", "cadjust"}:
            raise MEstimateError("give either use_correction or type/cadjust, not both")
        kwds["type"], kwds["cadjust"] = ("HC1", True) if kwds["use_correction"] else ("HC0", False)
    hc = check_option("type", kwds["type"], ("HC0", "HC1", "HC2", "HC3"))
    if hc in ("HC2", "HC3"):
        raise refuse(f"clustered {hc}", "use type='HC0' or 'HC1' (or fit in memory)")
    chunks = tuple(U.chunks[0])
    dims, label = _group_dims(res, kwds["groups"], chunks)
    p = len(dims)
    subsets = [s for size in range(1, p + 1) for s in combinations(range(p), size)]
    multi0 = bool(kwds["multi0"]) and p > 1
    hc_meat = delayed(lambda u: u.T @ u)
    outer, hc_part = _compute((delayed(_cluster_finish)(group_sums_tree(U, dims, subsets)),
                               tree_sum([hc_meat(u) for u in _blocks(U)]) if multi0 else None))
    n, k = res.nobs, res.k_params
    if hc == "HC1" and n <= k:
        raise MEstimateError(f"HC1 needs more observations than parameters; got n={n}, k={k}")
    sizes = tuple(int(g) for _, g in outer[:p])
    if kwds["cadjust"] and min(g for _, g in outer) < 2:
        raise DataError("a clustering dimension has a single cluster, so G/(G − 1) is undefined; "
                        "cluster on a variable with at least two distinct values")
    meat = np.zeros((k, k))
    for i, (s, (sts, g)) in enumerate(zip(subsets, outer)):
        sign = (-1) ** (len(s) + 1)
        if multi0 and i == len(subsets) - 1:
            meat += sign * ((n - k) / (n - 1) if hc == "HC1" else 1.0) * hc_part / n
        else:
            meat += sign * (g / (g - 1) if kwds["cadjust"] else 1.0) * sts / n
    if hc == "HC1":
        meat *= (n - 1) / (n - k)
    adj = hc + (" + G/(G-1)" if kwds["cadjust"] else "") + (", multi0" if multi0 else "")
    desc = f"cluster ({label}), G = {', '.join(map(str, sizes))}, {adj} adj."
    resolved = {"type": hc, "cadjust": kwds["cadjust"], "multi0": kwds["multi0"],
                "n_groups_per_dim": sizes}
    return meat, resolved, desc, min(sizes) - 1, min(sizes)


# ---------------------------------------------------------------------- HAC
def _hac_block(u, head, weights):
    if head is None or head.shape[0] == 0:
        return weighted_autocovariance(u, weights)
    return weighted_autocovariance(np.vstack([u, head]), weights) - weighted_autocovariance(head, weights)


def _meat_hac(res, U, kwds, given):
    from dask import delayed

    n_rows = U.shape[0]
    kernel = canonical_kernel(kwds["kernel"])
    for key, bad, hint in (("prewhite", bool(kwds["prewhite"]), "use prewhite=False"),
                           ("order_by", kwds["order_by"] is not None,
                            "sort the data by time before building the model"),
                           ("groups", kwds["groups"] is not None, "fit each group's series separately")):
        if bad:
            raise refuse(f"HAC with {key}", hint)
    if kwds["use_correction"] is not None:
        if "adjust" in given:
            raise MEstimateError("give either use_correction or adjust, not both")
        kwds["adjust"] = bool(kwds["use_correction"])
    maxlags, bw = kwds["maxlags"], kwds["bw"]
    if maxlags is not None and bw is not None:
        raise MEstimateError("give either maxlags or bw for HAC, not both")
    if maxlags is None and bw is None:
        raise refuse("an automatic HAC bandwidth", "give cov_kwds={'maxlags': L} (or 'bw')")
    if maxlags is not None:
        if int(maxlags) != maxlags or not 0 <= maxlags < n_rows:
            raise MEstimateError(f"maxlags must be an integer in 0..{n_rows - 1} (n = {n_rows}); got {maxlags}")
        if kernel == "quadratic-spectral":
            raise MEstimateError("the quadratic-spectral kernel has no last lag; give bw instead of maxlags")
        bw = int(maxlags) + (0 if kernel == "truncated" else 1)
    if float(bw) > n_rows:
        raise MEstimateError(f"the HAC bandwidth {bw} exceeds n = {n_rows}")
    weights = hac_weights(n_rows, float(bw), kernel)
    lags = weights.size - 1
    chunks = U.chunks[0]
    if lags and min(chunks[:-1], default=lags + 1) <= lags:
        U = U.rechunk({0: max(lags + 1, int(np.median(chunks)))})
    blocks = _blocks(U)
    heads = [_blocks(U.blocks[i + 1][:lags])[0] if lags and i + 1 < len(blocks) else None
             for i in range(len(blocks))]
    utu = _compute(tree_sum([delayed(_hac_block)(u, h, weights) for u, h in zip(blocks, heads)]))
    n, k = res.nobs, res.k_params
    if kwds["adjust"]:
        if n <= k:
            raise MEstimateError(f"adjust=True needs n > k; got n={n}, k={k}")
        utu = utu * n / (n - k)
    parts = [KERNEL_LABELS[kernel], f"bandwidth {float(bw):.3g}"]
    if maxlags is not None:
        parts.append(f"{int(maxlags)} lags")
    if kwds["adjust"]:
        parts.append("n/(n-k) adj.")
    resolved = {"kernel": kernel, "bw": float(bw), "maxlags": maxlags, "prewhite": 0,
                "adjust": bool(kwds["adjust"]), "bw_method": None}
    return utu / n, resolved, f"HAC ({', '.join(parts)})", None, None


def dask_cov(res, cov_type: str, **cov_kwds):
    """Covariance of a dask-backed fit: ``(cov, CovInfo)`` as :func:`~mestimate.covariance.compute_cov`.

    Supported: HC0–HC3 (HC2/HC3 for regression models), cluster (one- or multi-way,
    type HC0/HC1) and HAC with a fixed bandwidth (``maxlags`` or ``bw``; no
    prewhitening, ``order_by`` or ``groups``).
    """
    key = str(cov_type).lower()
    if key not in _REGISTRY:
        from .covariance.dispatch import compute_cov

        return compute_cov(res, cov_type, **cov_kwds)  # raises the usual "unknown cov_type"
    cls = _REGISTRY[key]()
    kwds = cls.resolve(cov_kwds)
    U = res.estfun()
    if cls.name == "cluster":
        meat, resolved, desc, df, ng = _meat_cluster(res, U, kwds, set(cov_kwds))
    elif cls.name == "HAC":
        meat, resolved, desc, df, ng = _meat_hac(res, U, kwds, set(cov_kwds))
    else:
        meat, resolved, desc, df, ng = _meat_hc(res, U, cls.name)
    cov = sandwich(res.bread(), meat, res.nobs)
    return cov, CovInfo(cls.name, resolved, desc, df, ng)

