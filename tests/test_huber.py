"""Huber robust regression against statsmodels RLM and R's MASS::rlm.

Reference data and R output: tests/reference/huber/ (make_huber.R).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from mestimate.exceptions import MEstimateError
from mestimate.models.huber import MAD_CONSTANT, Huber, mad_scale

REF = Path(__file__).parent / "reference" / "huber"
R_RESULTS = {c["name"]: c for c in json.loads((REF / "results.json").read_text())}


def _r_data(name):
    d = pd.read_csv(REF / f"data_{name}.csv")
    y = d.pop("y").to_numpy()
    return y, np.c_[np.ones(len(y)), d.to_numpy()]


def _sm_rlm(y, X, t=1.345, **kw):
    return sm.RLM(y, X, M=sm.robust.norms.HuberT(t)).fit(
        scale_est="mad", tol=1e-14, maxiter=5000, conv="coefs", **kw)


def _simulated(seed=3, n=200):
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(n), rng.normal(size=(n, 2))]
    y = X @ [1.0, 2.0, -1.0] + rng.standard_t(2, size=n)
    y[:10] += 15
    return y, X


def _stackloss():
    d = sm.datasets.stackloss.load_pandas()
    return d.endog.to_numpy(), sm.add_constant(d.exog.to_numpy())


def _rel(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


# ------------------------------------------------------------------ statsmodels
@pytest.mark.parametrize("data", [_stackloss, _simulated, lambda: _r_data("simulated")])
@pytest.mark.parametrize("t", [1.345, 2.0])
def test_matches_statsmodels_rlm_mad(data, t):
    y, X = data()
    ref = _sm_rlm(y, X, t)
    res = Huber(y, X, t=t).fit()
    assert res.converged
    assert _rel(res.params, ref.params) < 1e-8
    assert abs(res.model.scale / ref.scale - 1) < 1e-8
    assert _rel(res.bse, ref.bse) < 1e-8                     # H1, statsmodels' default
    np.testing.assert_allclose(res.cov_params().to_numpy(), ref.cov_params(), rtol=1e-7,
                               atol=1e-12 * np.abs(ref.cov_params()).max())


def test_fixed_scale_matches_statsmodels():
    y, X = _simulated(seed=7)
    ref = _sm_rlm(y, X, start_scale=1.7, update_scale=False)
    res = Huber(y, X, scale=1.7).fit()
    assert res.model.scale == 1.7 and not res.model.scale_estimated
    assert _rel(res.params, ref.params) < 1e-8
    assert _rel(res.bse, ref.bse) < 1e-8


# ------------------------------------------------------------------------ R
@pytest.mark.parametrize("name", sorted(R_RESULTS))
def test_matches_r_rlm_at_r_scale(name):
    """At R's converged scale, β solves the same Huber equations: agreement to rounding."""
    c = R_RESULTS[name]
    y, X = _r_data(name)
    res = Huber(y, X, t=c["k"], scale=c["scale"]).fit()
    assert _rel(res.params, c["coef"]) < 1e-10
    # summary.rlm's SEs are H1 with var(ψ') on n − 1 degrees of freedom (statsmodels: n)
    n, k = X.shape
    u = res.resid / c["scale"]
    dpsi = (np.abs(u) <= c["k"]).astype(float)
    m = dpsi.mean()
    kappa_sm = 1 + k / n * dpsi.var() / m ** 2
    kappa_r = 1 + k / n * dpsi.var(ddof=1) / m ** 2
    assert _rel(res.bse * kappa_r / kappa_sm, c["se"]) < 1e-8


@pytest.mark.parametrize("name", sorted(R_RESULTS))
def test_estimated_scale_vs_r(name):
    """R's MAD divides by 0.6745, ours (statsmodels') by Φ⁻¹(3/4): a 1.5e-5 difference."""
    c = R_RESULTS[name]
    y, X = _r_data(name)
    res = Huber(y, X, t=c["k"]).fit()
    ratio = res.model.scale / c["scale"]
    assert abs(ratio - 0.6745 / MAD_CONSTANT) < 1e-5
    assert _rel(res.params, c["coef"]) < 1e-4
    # with R's constant the fixed-point equation holds at R's estimate
    r_resid = y - X @ np.asarray(c["coef"])
    assert abs(mad_scale(r_resid) * MAD_CONSTANT / 0.6745 / c["scale"] - 1) < 1e-10


# ------------------------------------------------------------- model contract
def test_fit_does_not_mutate_model_and_returns_fitted_scale():
    y, X = _simulated()
    model = Huber(y, X)
    before = model.scale
    res = model.fit()
    assert model.scale == before and model.scale_estimated
    assert res.model is not model and res.model.scale_estimated
    assert res.model.scale != before
    assert abs(res.model.scale - mad_scale(res.resid)) < 1e-10 * res.model.scale
    # Huber equations hold at the fitted scale
    assert np.max(np.abs(res.model.gradient(res.params.to_numpy()))) < 1e-9
    # refits (exact leave-one-out, bootstrap) keep the scale fixed at the estimate
    w = np.ones(len(y))
    w[0] = 0.0
    refit = res.refit(weights=w)
    assert refit.model.scale == res.model.scale and not refit.model.scale_estimated


def test_huge_fixed_scale_is_least_squares():
    y, X = _simulated(seed=11)
    res = Huber(y, X, scale=1e6).fit()
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(res.params, ols, rtol=1e-10)


def test_zero_weights_equal_dropping_rows():
    y, X = _simulated(seed=5, n=80)
    w = np.ones(80)
    w[[3, 17, 40]] = 0.0
    keep = w > 0
    a = Huber(y, X, weights=w).fit()
    b = Huber(y[keep], X[keep]).fit()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-10)
    assert abs(a.model.scale / b.model.scale - 1) < 1e-12
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-10)


def test_from_formula_and_derivatives():
    y, X = _simulated(seed=2, n=60)
    df = pd.DataFrame({"y": y, "a": X[:, 1], "b": X[:, 2]})
    res = Huber.from_formula("y ~ a + b", df, t=1.5).fit()
    direct = Huber(y, X, t=1.5).fit()
    np.testing.assert_allclose(res.params.to_numpy(), direct.params.to_numpy(), rtol=1e-12)
    assert list(res.params.index) == ["Intercept", "a", "b"]
    checks = res.model.check_derivatives(res.params.to_numpy() + 0.01)
    assert all(c.ok for c in checks)


def test_hc0_is_the_sandwich_of_psi():
    y, X = _simulated(seed=9)
    res = Huber(y, X).fit()
    s, t = res.model.scale, 1.345
    u = res.resid / s
    G = -(s * np.clip(u, -t, t))[:, None] * X
    H = X.T @ ((np.abs(u) <= t)[:, None] * X)
    Hi = np.linalg.inv(H)
    np.testing.assert_allclose(res.cov_params("HC0").to_numpy(), Hi @ (G.T @ G) @ Hi, rtol=1e-10)


@pytest.mark.parametrize("kw, match", [({"t": 0.0}, "tuning constant"), ({"t": -1}, "tuning"),
                                       ({"t": np.nan}, "tuning"), ({"scale": 0.0}, "scale"),
                                       ({"scale": -2.0}, "scale"), ({"scale": np.inf}, "scale")])
def test_bad_options(kw, match):
    y, X = _simulated(n=30)
    with pytest.raises(MEstimateError, match=match):
        Huber(y, X, **kw)


def test_exact_fit_scale_zero_is_an_error():
    X = np.c_[np.ones(10), np.arange(10.0)]
    y = X @ [1.0, 2.0]
    y[0] += 5.0
    with pytest.raises(MEstimateError, match="MAD scale"):
        Huber(y, X).fit()


# ----------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), c=st.floats(0.01, 100.0),
       gamma=st.lists(st.floats(-5, 5), min_size=3, max_size=3))
def test_equivariance(seed, c, gamma):
    """Regression and scale equivariance: y → c(y + Xγ) gives β → c(β + γ), s → c s."""
    y, X = _simulated(seed=seed, n=50)
    a = Huber(y, X).fit()
    b = Huber(c * (y + X @ np.asarray(gamma)), X).fit()
    np.testing.assert_allclose(b.params.to_numpy(), c * (a.params.to_numpy() + gamma),
                               rtol=1e-7, atol=1e-7 * c * (1 + np.abs(gamma).max()))
    assert abs(b.model.scale / (c * a.model.scale) - 1) < 1e-8
    np.testing.assert_allclose(b.bse.to_numpy(), c * a.bse.to_numpy(), rtol=1e-7)


@settings(max_examples=50, deadline=None)
@given(a=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=40),
       reps=st.lists(st.integers(1, 4), min_size=40, max_size=40))
def test_weighted_median(a, reps):
    a = np.asarray(a)
    w = np.asarray(reps[: a.size], float)
    assert mad_scale(a, np.ones_like(a)) == mad_scale(a)
    np.testing.assert_allclose(mad_scale(a, w), mad_scale(np.repeat(a, reps[: a.size])),
                               rtol=1e-12, atol=1e-300)
    assert mad_scale(a) == np.median(np.abs(a)) / MAD_CONSTANT


def test_summary_names_the_h1_covariance():
    rng = np.random.default_rng(3)
    X = np.c_[np.ones(60), rng.normal(size=60)]
    y = X @ [1.0, 2.0] + rng.standard_t(2, 60)
    res = Huber(y, X).fit()
    assert "Huber's H1" in str(res.summary())
    assert res.cov_info().description == "nonrobust (Huber's H1, scale fixed)"
