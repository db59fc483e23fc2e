"""compute_cov: registry, option validation, CovInfo, and agreement with R through it."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _covariance_ref import fit, r_value, rel_diff

from mestimate.covariance import CovInfo, available_cov_types, compute_cov
from mestimate.exceptions import DataError, MEstimateError

TOL = 1e-8


class Bare:
    """The minimal protocol: no leverage, no data columns, no names."""

    def __init__(self, u, bread=None):
        self._u = np.asarray(u, float)
        self.nobs, self.k_params = self._u.shape
        self._bread = np.eye(self.k_params) if bread is None else bread

    def estfun(self):
        return self._u

    def bread(self):
        return self._bread


def test_registry_and_aliases():
    assert set(available_cov_types()) == {"HC0", "HC1", "HC2", "HC3", "cluster", "HAC"}
    f = fit("ps_lm")
    hc0, info = compute_cov(f, "HC0")
    for alias in ("sandwich", "robust", "hc0"):
        cov, info2 = compute_cov(f, alias)
        np.testing.assert_array_equal(cov, hc0)
        assert info2.cov_type == "HC0"
    assert rel_diff(hc0, r_value("ps_lm", "vcovHC_HC0")) < TOL


@pytest.mark.parametrize("bad", ["HC4", "clustered", "nonrobust", "bootstrap"])
def test_unknown_cov_type_lists_allowed(bad):
    with pytest.raises(MEstimateError) as e:
        compute_cov(fit("ps_lm"), bad)
    for name in ("nonrobust", "HC0", "HC3", "cluster", "HAC", "bootstrap"):
        assert repr(name) in str(e.value)


def test_unknown_keyword_lists_allowed():
    with pytest.raises(MEstimateError, match="allowed keywords: 'groups'"):
        compute_cov(fit("pet_lm"), "cluster", group="firm")
    with pytest.raises(MEstimateError, match="'maxlags'"):
        compute_cov(fit("inv_lm"), "HAC", nlags=2)
    with pytest.raises(MEstimateError, match="allowed keywords: none"):
        compute_cov(fit("ps_lm"), "HC1", groups=[1])


def test_cluster_info_and_description():
    f = fit("pet_lm")
    cov, info = compute_cov(f, "cluster", groups="firm")
    assert rel_diff(cov, r_value("pet_lm", "vcovCL_one_HC1_cadjust1")) < TOL
    assert isinstance(info, CovInfo) and info.cov_type == "cluster"
    assert info.n_groups == 500 and info.df == 499
    assert info.description.startswith("cluster (firm), G = 500, HC1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.df = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        info.kwds["type"] = "HC0"  # type: ignore[index]
    cov2, info2 = compute_cov(f, "cluster", groups=["firm", "year"], multi0=True, type="HC0")
    assert rel_diff(cov2, r_value("pet_lm", "vcovCL_two_HC0_multi0")) < TOL
    assert info2.kwds["n_groups_per_dim"] == (500, 10) and info2.df == 9


def test_cluster_hc2_through_protocol_and_bad_groups():
    f = fit("pet_logit")
    cov, _ = compute_cov(f, "cluster", groups="firm", type="HC2")
    assert rel_diff(cov, r_value("pet_logit", "vcovCL_one_HC2_cadjust1")) < TOL
    with pytest.raises(DataError, match="5000 rows"):
        compute_cov(f, "cluster", groups=np.arange(10))
    g = f.data.firm.to_numpy(float)
    g[[3, 7]] = np.nan
    with pytest.raises(DataError, match=r"missing labels .* rows \[3, 7\]"):
        compute_cov(f, "cluster", groups=g)
    with pytest.raises(MEstimateError, match="either use_correction or type"):
        compute_cov(f, "cluster", groups="firm", use_correction=True, type="HC0")
    bare = Bare(f.estfun(), f.bread())
    with pytest.raises(DataError, match="keeps no data columns"):
        compute_cov(bare, "cluster", groups="firm")
    with pytest.raises(MEstimateError, match="design=X"):
        compute_cov(bare, "cluster", groups=f.data.firm.to_numpy(), type="HC3")
    with pytest.raises(MEstimateError, match="needs cov_kwds"):
        compute_cov(bare, "cluster")


def test_hc2_needs_leverage():
    u = np.random.default_rng(0).standard_normal((20, 2))
    with pytest.raises(MEstimateError, match="leverages"):
        compute_cov(Bare(u), "HC3")


def test_hac_through_protocol_matches_r():
    f = fit("inv_lm")
    cov, info = compute_cov(f, "HAC", prewhite=True)  # maxlags None: R NeweyWest's lag
    assert rel_diff(cov, r_value("inv_lm", "NeweyWest_default")) < TOL
    assert info.kwds["bw"] == info.kwds["maxlags"] + 1
    assert "prewhitened" in info.description and "Bartlett" in info.description
    cov, info = compute_cov(f, "HAC", kernel="Quadratic Spectral", bw_method="andrews", prewhite=1,
                            adjust=True)
    assert rel_diff(cov, r_value("inv_lm", "kernHAC_default")) < TOL
    assert info.kwds["maxlags"] is None
    cov, _ = compute_cov(f, "HAC", maxlags=4)
    assert rel_diff(cov, r_value("inv_lm", "NeweyWest_lag4_pw0")) < TOL
    cov, _ = compute_cov(f, "HAC", bw=3.5, kernel="parzen", prewhite=2, adjust=True)
    assert rel_diff(cov, r_value("inv_lm", "kernHAC_Parzen_pw2_bw3")) < TOL


def test_hac_validation():
    f = fit("inv_lm")
    for bad in (f.nobs, -1, 2.5):
        with pytest.raises(MEstimateError, match="maxlags must be an integer"):
            compute_cov(f, "HAC", maxlags=bad)
    with pytest.raises(MEstimateError, match="not both"):
        compute_cov(f, "HAC", maxlags=2, bw=3)
    with pytest.raises(MEstimateError, match="no last lag"):
        compute_cov(f, "HAC", maxlags=2, kernel="quadratic-spectral")
    with pytest.raises(MEstimateError, match="unknown kernel"):
        compute_cov(f, "HAC", maxlags=2, kernel="epanechnikov")
    unordered = fit("inv_rev")
    unordered.time_ordered = False
    try:
        with pytest.raises(MEstimateError, match="order_by"):
            compute_cov(unordered, "HAC", maxlags=2)
        cov, _ = compute_cov(unordered, "HAC", maxlags=2, prewhite=True, order_by="year")
        assert rel_diff(cov, r_value("inv_rev", "NeweyWest_lag2_pw1_orderby")) < TOL
    finally:
        unordered.time_ordered = True
    with pytest.raises(MEstimateError, match="grouped HAC needs maxlags"):
        compute_cov(fit("pet_lm"), "HAC", groups="firm")


def test_cluster_made_only_of_zero_weight_rows_is_not_counted():
    import mestimate as me

    rng = np.random.default_rng(0)
    n = 200
    X = np.c_[np.ones(n), rng.normal(size=n)]
    y = X @ [1.0, 2.0] + rng.normal(size=n)
    g = np.arange(n) // 10
    w = np.ones(n)
    w[g == 3] = 0.0
    weighted = me.OLS(y, X, weights=w).fit()
    keep = g != 3
    dropped = me.OLS(y[keep], X[keep]).fit()
    for kind in ("HC0", "HC1"):
        a = weighted.cov_params("cluster", groups=g, type=kind)
        b = dropped.cov_params("cluster", groups=g[keep], type=kind)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-15)
    assert weighted.cov_info("cluster", groups=g).n_groups == 19


@pytest.mark.parametrize(("cov_type", "kw"), [("HC0", {}), ("HC1", {}),
                                              ("cluster", {"groups": [0, 0, 1, 1, 2, 2, 3, 3]}),
                                              ("HAC", {"maxlags": 2}), ("HAC", {})])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_estfun_is_reported_by_every_type(cov_type, kw, bad):
    # compute_cov leaves the finiteness check to the meat functions (one pass over the
    # data): every type must still name the rows
    u = np.random.default_rng(1).standard_normal((8, 2))
    u[5, 1] = bad
    with pytest.raises(DataError, match=r"non-finite values in rows \[5\]"):
        compute_cov(Bare(u), cov_type, **kw)
