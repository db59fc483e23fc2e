"""Built-in models against statsmodels (and R values stored in tests/reference)."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

import mestimate as me


def test_ols_formula_matches_statsmodels(ols_frame):
    df = ols_frame.copy()
    df.loc[[3, 10], "x"] = np.nan
    res = me.OLS.from_formula("y ~ x + z + C(g)", df).fit()
    ref = smf.ols("y ~ x + z + C(g)", df).fit()
    assert list(res.params.index) == list(ref.params.index)
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-8)
    np.testing.assert_allclose(res.conf_int().to_numpy(), ref.conf_int().to_numpy(), rtol=1e-10)
    assert res.n_dropped == 2 and res.nobs == len(df) - 2
    assert "Dropped (missing)" in str(res.summary())
    new = df.head(4).fillna(0.0)
    np.testing.assert_allclose(res.predict(new), ref.predict(new), rtol=1e-10)


def test_ols_missing_raise(ols_frame):
    df = ols_frame.copy()
    df.loc[3, "x"] = np.nan
    with pytest.raises(me.DataError, match="missing"):
        me.OLS.from_formula("y ~ x", df, missing="raise")


def test_wls_matches_statsmodels(ols_frame):
    w = np.linspace(0.5, 2.0, len(ols_frame))
    res = me.OLS.from_formula("y ~ x + z", ols_frame, weights=w).fit()
    ref = smf.wls("y ~ x + z", ols_frame, weights=w).fit()
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-10)


def test_logit_matches_statsmodels(logit_data):
    y, X = logit_data
    res = me.Logit(y, X).fit()
    ref = sm.Logit(y, X).fit(disp=0, tol=1e-14)
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-8)
    np.testing.assert_allclose(res.loss * res.nobs, -ref.llf, rtol=1e-12)
    np.testing.assert_allclose(res.predict(), ref.predict(), rtol=1e-8)
    hat = sm.GLM(y, X, family=sm.families.Binomial()).fit().get_hat_matrix_diag()
    np.testing.assert_allclose(res.leverage(), hat, rtol=1e-7)


def test_poisson_matches_statsmodels_with_offset(poisson_data):
    y, X = poisson_data
    off = np.log(np.linspace(1, 3, len(y)))
    res = me.Poisson(y, X, offset=off).fit()
    ref = sm.Poisson(y, X, offset=off).fit(disp=0, tol=1e-14)
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-8)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-8)
    np.testing.assert_allclose(res.loss * res.nobs, -ref.llf, rtol=1e-12)


def test_generic_leverage_equals_glm_hat_values(logit_data):
    y, X = logit_data

    def loss(p, d):
        eta = d["X"] @ p
        return np.log1p(np.exp(eta)) - d["y"] * eta

    generic = me.MEstimator(loss, {"y": y, "X": X}, k_params=4).fit()
    builtin = me.Logit(y, X).fit()
    np.testing.assert_allclose(generic.leverage(), builtin.leverage(), rtol=1e-6)


def test_perfect_separation_raises():
    x = np.arange(-5.0, 5.0)
    X = np.c_[np.ones(10), x]
    y = (x > 0).astype(float)
    with pytest.raises(me.PerfectSeparationError, match="separation"):
        me.Logit(y, X).fit()


def test_quasi_separation_raises():
    x = np.r_[np.arange(-5.0, 0.0), [0.0, 0.0], np.arange(1.0, 6.0)]
    X = np.c_[np.ones(x.size), x]
    y = np.r_[np.zeros(5), [0.0, 1.0], np.ones(5)]
    with pytest.raises(me.PerfectSeparationError, match="quasi-complete"):
        me.Logit(y, X).fit()


def test_bad_responses():
    X = np.c_[np.ones(4), np.arange(4.0)]
    with pytest.raises(me.DataError, match=r"\[0, 1\]"):
        me.Logit(np.array([0.0, 2, 1, 0]), X)
    with pytest.raises(me.DataError, match="non-negative"):
        me.Poisson(np.array([0.0, -2, 1, 0]), X)
    with pytest.raises(me.DataError, match="same n"):
        me.OLS(np.zeros(3), X)


def test_logit_inference_matches_statsmodels(logit_data):
    y, X = logit_data
    for cov_type in ("nonrobust", "HC0"):
        res = me.Logit(y, X).fit(cov_type=cov_type)
        ref = sm.Logit(y, X).fit(disp=0, tol=1e-14, cov_type=cov_type)
        np.testing.assert_allclose(res.tvalues, ref.tvalues, rtol=1e-7)
        np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-6)
        np.testing.assert_allclose(res.conf_int(0.1).to_numpy(), ref.conf_int(0.1), rtol=1e-7)


def test_inference_tables_have_their_own_labels(logit_data):
    # bse, pvalues, tvalues, conf_int and cov_params are labelled by views of params.index:
    # the same names, but renaming one table's index leaves the others (and params) alone
    y, X = logit_data
    res = me.Logit(y, X).fit()
    tables = [res.bse, res.pvalues, res.tvalues, res.conf_int(), res.cov_params()]
    for t in tables:
        assert list(t.index) == res.param_names
    cov = tables[-1]
    assert list(cov.columns) == res.param_names
    for t in tables:
        t.index.name = "renamed"
    cov.columns.name = "renamed"
    assert res.params.index.name is None and res.bse.index.name is None
    assert res.cov_params().columns.name is None and res.cov_params().index.name is None


def test_cluster_t_inference_uses_g_minus_1_like_statsmodels(ols_frame):
    df = ols_frame.assign(firm=np.arange(len(ols_frame)) // 5)
    res = me.OLS.from_formula("y ~ x + z", df).fit(cov_type="cluster", cov_kwds={"groups": "firm"})
    ref = smf.ols("y ~ x + z", df).fit(cov_type="cluster", cov_kwds={"groups": df["firm"]},
                                       use_t=True)
    assert res.cov_info().df == df["firm"].nunique() - 1
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(res.pvalues, ref.pvalues, rtol=1e-9)
    np.testing.assert_allclose(res.conf_int().to_numpy(), ref.conf_int().to_numpy(), rtol=1e-10)


def test_fit_with_user_score_does_not_mutate_model(logit_data):
    y, X = logit_data

    def psi(p, d):
        return (1 / (1 + np.exp(-(d["X"] @ p))) - d["y"])[:, None] * d["X"]

    model = me.MEstimator(score=psi, data={"y": y, "X": X}, k_params=4)
    before = dict(model.__dict__)
    model.fit(cov_type="HC0")
    assert model.__dict__.keys() == before.keys()
    assert all(model.__dict__[k] is before[k] for k in before)


@pytest.mark.parametrize("model_cls", [me.OLS, me.Logit, me.Poisson, me.Huber])
def test_in_place_first_derivative_equals_the_allocating_one(model_cls):
    # the batched exact refits overwrite one buffer with ℓ'(y, η) on every pass
    rng = np.random.default_rng(7)
    X = np.column_stack([np.ones(30), rng.normal(size=30)])
    y = rng.poisson(1.0, size=30).clip(0, 1).astype(float)
    model = model_cls(y, X)
    eta = rng.normal(size=(30, 4))
    expect = model._d1(y[:, None], eta)
    buf = eta.copy()
    out = model._d1_inplace(y[:, None], buf)
    assert out is buf
    np.testing.assert_allclose(out, expect, rtol=1e-15, atol=0)


@pytest.mark.parametrize("blocks", [1, 3, 7])
@pytest.mark.parametrize("signs", ["nonnegative", "mixed"])
def test_xtvx_in_blocks_equals_the_direct_product(monkeypatch, blocks, signs):
    # XᵀVX is summed over blocks of rows scaled in one buffer (the Newton Hessian of every
    # index model); the last block is partial
    import mestimate.models._regression as regression
    rng = np.random.default_rng(blocks)
    X = rng.normal(size=(100, 4))
    v = rng.uniform(size=100) if signs == "nonnegative" else rng.normal(size=100)
    monkeypatch.setattr(regression, "_XTVX_BLOCK_BYTES", 8 * 4 * (100 // blocks + 1))
    np.testing.assert_allclose(regression._xtvx(X, v), X.T @ (v[:, None] * X),
                               rtol=1e-13, atol=1e-13)


def test_logit_link_functions_match_scipy_over_the_whole_range():
    # the logit's p = expit(η) and log(1 + e^η) run on numpy's exp (faster than scipy's
    # expit and np.logaddexp); they must agree with those to a few ulp everywhere, give the
    # limits at ±inf, and overflow silently (RuntimeWarnings from mestimate are errors here)
    from scipy import special

    from mestimate.models.glm import _expit, _log1pexp

    eta = np.r_[np.linspace(-800, 800, 20_001), -1e300, 1e300, -745.2, 709.8, -36.7, 36.7,
                0.0, -0.0, 5e-324, -5e-324, 1e-17, -1e-17]
    p = _expit(eta)
    np.testing.assert_array_max_ulp(p, special.expit(eta), maxulp=2)
    np.testing.assert_array_max_ulp(_log1pexp(eta), np.logaddexp(0.0, eta), maxulp=3)
    limits = np.array([-np.inf, np.inf])
    np.testing.assert_array_equal(_expit(limits), [0.0, 1.0])
    np.testing.assert_array_equal(_log1pexp(limits), [0.0, np.inf])
    nan = np.array([np.nan])
    assert np.isnan(_expit(nan)).all() and np.isnan(_log1pexp(nan)).all()
    buf = eta.copy()
    assert _expit(buf, out=buf) is buf
    np.testing.assert_array_equal(buf, p)
    ints = np.array([-3, 0, 2])                       # integer input: float results
    np.testing.assert_array_max_ulp(_expit(ints), special.expit(ints.astype(float)), maxulp=2)
    np.testing.assert_array_max_ulp(_log1pexp(ints), np.logaddexp(0.0, ints.astype(float)),
                                    maxulp=3)
    assert float(_expit(np.float64(0.5))) == pytest.approx(special.expit(0.5), rel=1e-15)
