"""Autoregressive models against numbers nobody here computed: R (arima CSS, lm, glm,
sandwich) stored by tests/reference/ar/make_ar_reference.R, and statsmodels at run time."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.tsa.ar_model import AutoReg

from mestimate.sequence.count_ar import LogisticAR, PoissonAR
from mestimate.sequence.gaussian_ar import GaussianAR

REF = Path(__file__).parents[1] / "reference" / "ar"
R = json.loads((REF / "ar_reference.json").read_text())


def series(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"series_{name}.csv")


def assert_rel(actual, desired, rtol, atol=0.0):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(desired, float),
                               rtol=rtol, atol=atol)


AR_CASES = [k for k in R if isinstance(R[k], dict) and "arima_coef" in R[k]]


@pytest.mark.parametrize("case", AR_CASES)
def test_gaussian_ar_vs_r_lm_and_arima_css(case):
    ref = R[case]
    p = ref["lags"]
    y = series(ref["series"])["y"].to_numpy()
    res = GaussianAR(y, lags=p).fit(cov_type="nonrobust")
    beta = res.params.to_numpy()[:-1]
    # exact least squares on the lagged design (R lm)
    assert_rel(beta, ref["lm_coef"], 1e-10)
    # R arima(method = "CSS") reports the mean: intercept = mean * (1 - sum(phi)).
    # arima optimises numerically (optim, reltol 1e-15): agreement to ~1e-7 is its accuracy.
    phi = np.atleast_1d(ref["arima_coef"])
    assert_rel(beta[1:], phi, 2e-6)
    assert_rel(beta[0], ref["arima_mean"] * (1 - phi.sum()), 2e-6)
    assert_rel(np.exp(res.params["log_sigma2"]), ref["arima_sigma2"], 2e-6)
    # R's CSS log-likelihood counts all n items, the p conditioning ones too:
    # -n/2 (log 2 pi sigma2 + 1) with n = nobs + p; ours is per scored step
    n_r = res.nobs + p
    assert_rel(res.loss * n_r, -ref["arima_loglik"], 2e-6)
    # HAC with a fixed lag: the coefficient block equals sandwich::NeweyWest on the lm
    # (the bread is block-diagonal at the optimum, so log_sigma2 does not enter it)
    V = res.cov_params("HAC", maxlags=3).to_numpy()[:-1, :-1]
    assert_rel(V, ref["nw3_vcov"], 1e-8)


@pytest.mark.parametrize("trend", ["n", "c", "t", "ct"])
@pytest.mark.parametrize("with_exog", [False, True])
def test_gaussian_ar_vs_statsmodels_autoreg(trend, with_exog):
    y = series("LakeHuron")["y"].to_numpy()
    x = np.c_[np.sin(np.arange(y.size) / 3.0), np.cos(np.arange(y.size) / 7.0)] if with_exog else None
    sm_res = AutoReg(y, lags=2, trend=trend, exog=x).fit()
    res = GaussianAR(y, lags=2, trend=trend, exog=x).fit(cov_type="nonrobust")
    assert_rel(res.params.to_numpy()[:-1], sm_res.params, 1e-8)
    assert_rel(np.exp(res.params["log_sigma2"]), sm_res.sigma2, 1e-10)
    # AutoReg's covariance is sigma2_ML (Z'Z)^-1: our inverse information, coefficient block
    assert_rel(res.cov_params().to_numpy()[:-1, :-1], sm_res.cov_params(), 1e-8)
    expected = [*([n] if (n := {"n": None, "c": "const", "t": "trend", "ct": None}[trend]) else []),
                *(["const", "trend"] if trend == "ct" else []), "lag1", "lag2",
                *(["x1", "x2"] if with_exog else []), "log_sigma2"]
    assert res.param_names == expected


def test_seatbelts_poisson_ar_vs_r_glm_and_default_hac():
    ref = R["seatbelts_poisson_ar2"]
    d = series("seatbelts")
    res = PoissonAR(d["VanKilled"], lags=2, exog=d[["law"]]).fit()
    assert res.param_names == ["const", "lag1", "lag2", "law"]
    assert_rel(res.params, ref["coef"], 1e-8)
    assert_rel(res.cov_params("nonrobust"), ref["vcov"], 1e-8)
    assert_rel(-res.nobs * res.loss, ref["loglik"], 1e-10)
    # the default covariance of one sequence is R's NeweyWest(glm, prewhite = FALSE)
    assert res.cov_type == "HAC" and res.cov_info().kwds["maxlags"] == ref["nw_auto_lag"]
    assert_rel(res.cov_params(), ref["nw_auto_vcov"], 1e-8)
    # statsmodels GLM on our lagged design
    glm = sm.GLM(res.model.endog, res.model.exog, family=sm.families.Poisson()).fit(tol=1e-13)
    assert_rel(res.params, glm.params, 1e-8)
    assert_rel(res.model.exog[:, 1], np.log1p(d["VanKilled"].to_numpy()[1:-1]), 1e-15)


def test_epil_many_sequences_poisson_ar_vs_r_glm_and_default_cluster():
    ref = R["epil_poisson_ar1"]
    d = series("epil")
    res = PoissonAR(d["y"], lags=1, exog=d[["progabide"]], groups=d["subject"]).fit()
    assert res.nobs == ref["nobs"] and res.model.n_sequences == 59
    assert_rel(res.params, ref["coef"], 1e-8)
    assert_rel(res.cov_params("nonrobust"), ref["vcov"], 1e-8)
    # the default of many sequences: vcovCL(glm, cluster = ~subject, type = "HC1", cadjust = TRUE)
    assert res.cov_type == "cluster"
    assert_rel(res.cov_params(), ref["cl_vcov"], 1e-8)
    glm = sm.GLM(res.model.endog, res.model.exog, family=sm.families.Poisson()).fit(tol=1e-13)
    assert_rel(res.params, glm.params, 1e-8)


def test_sunspot_logistic_ar_vs_r_and_statsmodels_glm():
    ref = R["sunspot_logistic_ar2"]
    y = series("sunspot_high")["y"].to_numpy()
    res = LogisticAR(y, lags=2).fit(cov_type="nonrobust")
    assert_rel(res.params, ref["coef"], 1e-8)
    assert_rel(res.cov_params(), ref["vcov"], 1e-7)
    glm = sm.GLM(res.model.endog, res.model.exog, family=sm.families.Binomial()).fit(tol=1e-13)
    assert_rel(res.params, glm.params, 1e-8)
    assert_rel(res.cov_params(), glm.cov_params(), 1e-6)


def test_chickweight_many_sequences_formula_vs_r_lm_cluster():
    ref = R["chickweight_ar1"]
    d = series("chickweight")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 50 chicks: no few-clusters warning
        res = GaussianAR.from_formula("weight ~ 1", d, lags=1, groups="Chick").fit()
    assert res.model.n_sequences == d["Chick"].nunique()
    assert_rel(res.params.to_numpy()[:-1], ref["coef"], 1e-10)
    assert_rel(np.exp(res.params["log_sigma2"]), ref["sigma2_ml"], 1e-10)
    V = res.cov_params("cluster", groups="sequence", type="HC0").to_numpy()[:-1, :-1]
    assert_rel(V, ref["cl0_vcov"], 1e-8)
    # "Chick" (a column of the formula's data) and "sequence" name the same clusters
    assert_rel(res.cov_params("cluster", groups="Chick"), res.cov_params(), 1e-14)
