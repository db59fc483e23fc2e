"""mestimate.covariance (through compute_cov) against statsmodels' cov_type options.

Conventions found (documented in mestimate.covariance.dispatch):
- OLS HC0–HC3: identical.
- cluster, one-way, use_correction=True: G/(G−1)·(n−1)/(n−k) = our type="HC1", cadjust=True.
- cluster, two-way (2-d groups): statsmodels applies G_S/(G_S−1)·(n−1)/(n−k) to each of
  the three terms, like R vcovCL(type="HC1") — identical.
- HAC, maxlags=L: statsmodels = NeweyWest(lag=L, prewhite=FALSE, adjust=FALSE), our default;
  use_correction=True multiplies by n/(n−k) = adjust=True.
- hac-panel (groups, maxlags): the within-group Newey–West sum, our HAC with groups.
"""
from __future__ import annotations

import pytest
import statsmodels.api as sm
from _covariance_ref import fit, rel_diff

from mestimate.covariance import compute_cov

TOL = 1e-8


def _sm_ols(f):
    return sm.OLS(f.y, f.X)


@pytest.mark.parametrize("model", ["ps_lm", "pet_lm"])
@pytest.mark.parametrize("hc", ["HC0", "HC1", "HC2", "HC3"])
def test_ols_hc(model, hc):
    f = fit(model)
    ref = _sm_ols(f).fit(cov_type=hc).cov_params()
    assert rel_diff(compute_cov(f, hc)[0], ref) < TOL


@pytest.mark.parametrize("groups", [["firm"], ["year"], ["firm", "year"]])
def test_ols_cluster(groups):
    f = fit("pet_lm")
    g = f.data[groups].to_numpy()
    ref = _sm_ols(f).fit(cov_type="cluster", cov_kwds={"groups": g if g.shape[1] > 1 else g[:, 0]})
    cov, info = compute_cov(f, "cluster", groups=groups if len(groups) > 1 else groups[0])
    assert rel_diff(cov, ref.cov_params()) < TOL
    assert info.df == min(f.data[c].nunique() for c in groups) - 1


def test_ols_cluster_no_correction():
    f = fit("pet_lm")
    ref = _sm_ols(f).fit(cov_type="cluster", cov_kwds={"groups": f.data.firm.to_numpy(),
                                                       "use_correction": False})
    cov, _ = compute_cov(f, "cluster", groups="firm", use_correction=False)
    assert rel_diff(cov, ref.cov_params()) < TOL


@pytest.mark.parametrize("model", ["inv_lm", "pet_lm"])
@pytest.mark.parametrize("maxlags", [0, 1, 4])
@pytest.mark.parametrize("correction", [False, True])
def test_ols_hac(model, maxlags, correction):
    f = fit(model)
    ref = _sm_ols(f).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags, "use_correction": correction})
    cov, info = compute_cov(f, "HAC", maxlags=maxlags, use_correction=correction)
    assert rel_diff(cov, ref.cov_params()) < TOL
    assert info.kwds["bw"] == maxlags + 1


@pytest.mark.parametrize("maxlags", [1, 3])
def test_ols_hac_uniform_kernel(maxlags):
    f = fit("inv_lm")
    ref = _sm_ols(f).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags, "kernel": "uniform"})
    cov, _ = compute_cov(f, "HAC", maxlags=maxlags, kernel="truncated")
    assert rel_diff(cov, ref.cov_params()) < TOL


@pytest.mark.parametrize("maxlags", [1, 3])
def test_ols_hac_panel(maxlags):
    f = fit("pet_lm")
    ref = _sm_ols(f).fit(cov_type="hac-panel", cov_kwds={"groups": f.data.firm.to_numpy(),
                                                         "maxlags": maxlags, "use_correction": False})
    cov, _ = compute_cov(f, "HAC", maxlags=maxlags, groups="firm", order_by="year")
    assert rel_diff(cov, ref.cov_params()) < TOL


@pytest.mark.parametrize("model", ["pet_logit", "mt_pois"])
def test_glm_hc0_and_cluster(model):
    """Logit/Poisson at R's coefficients: HC0 and one-way cluster (use_correction=True)."""
    f = fit(model)
    cls = sm.Logit if model == "pet_logit" else sm.Poisson
    mod = cls(f.y, f.X)
    hc0 = mod.fit(start_params=f.params, method="newton", maxiter=0, disp=0, cov_type="HC0",
                  warn_convergence=False)
    assert rel_diff(compute_cov(f, "HC0")[0], hc0.cov_params()) < TOL
    g = f.data["firm" if model == "pet_logit" else "cyl"]
    cl = mod.fit(start_params=f.params, method="newton", maxiter=0, disp=0, cov_type="cluster",
                 cov_kwds={"groups": g.to_numpy()}, warn_convergence=False)
    assert rel_diff(compute_cov(f, "cluster", groups=g.to_numpy())[0], cl.cov_params()) < TOL
