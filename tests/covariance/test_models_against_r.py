"""End to end: mestimate's own OLS / Logit / Poisson fits against R's lm / glm, their
coefficients and their sandwich covariances (vcovHC, vcovCL, NeweyWest), with the models
fitted by mestimate (not rebuilt from R's coefficients as in test_against_r.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _covariance_ref import fit, r_value, rel_diff

import mestimate as me

MODELS = {"ps_lm": me.OLS, "pet_lm": me.OLS, "pet_logit": me.Logit, "mt_pois": me.Poisson}
CLUSTERS = {"pet_lm": ("firm", "year"), "pet_logit": ("firm", "year"), "mt_pois": ("cyl", "gear")}


def _ours(name):
    f = fit(name)
    X = pd.DataFrame(f.X, columns=f.param_names)
    return MODELS.get(name, me.OLS)(f.y, X).fit(), f


@pytest.mark.parametrize("name", list(MODELS))
def test_coefficients_equal_r(name):
    res, f = _ours(name)
    tol = 1e-10 if MODELS[name] is me.OLS else 1e-8
    np.testing.assert_allclose(res.params.to_numpy(), r_value(name, "coef"), rtol=tol, atol=0)
    try:
        hat = r_value(name, "hatvalues")
    except KeyError:  # stored for some models only
        return
    np.testing.assert_allclose(res.leverage(), hat, rtol=1e-7)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("hc", ["HC0", "HC1", "HC2", "HC3"])
def test_vcovhc_equal_r(name, hc):
    res, _ = _ours(name)
    assert rel_diff(res.cov_params(hc).to_numpy(), r_value(name, f"vcovHC_{hc}")) < 1e-8


@pytest.mark.parametrize("name", list(CLUSTERS))
@pytest.mark.parametrize("hc", ["HC0", "HC1"])
@pytest.mark.parametrize("cadjust", [0, 1])
def test_vcovcl_one_and_two_way_equal_r(name, hc, cadjust):
    res, f = _ours(name)
    a, b = CLUSTERS[name]
    one = res.cov_params("cluster", groups=f.data[a].to_numpy(), type=hc, cadjust=bool(cadjust))
    assert rel_diff(one.to_numpy(), r_value(name, f"vcovCL_one_{hc}_cadjust{cadjust}")) < 1e-8
    two = res.cov_params("cluster", groups=f.data[[a, b]], type=hc, cadjust=bool(cadjust))
    assert rel_diff(two.to_numpy(), r_value(name, f"vcovCL_two_{hc}_cadjust{cadjust}")) < 1e-8


def test_newey_west_equal_r():
    res, _ = _ours("inv_lm")
    ours = res.cov_params("HAC", maxlags=4)
    assert rel_diff(ours.to_numpy(), r_value("inv_lm", "NeweyWest_lag4_pw0")) < 1e-8
