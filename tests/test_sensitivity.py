"""Data-dropping sensitivity (AMIP): minimality by brute force, refit verification, real data."""
from itertools import combinations

import numpy as np
import pytest
import statsmodels.api as sm

import mestimate as me
from mestimate.exceptions import MEstimateError


def _sim(seed=4, n=14):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 0.25 * x + rng.normal(size=n)
    return y, np.c_[np.ones(n), x]


def test_sign_flip_minimal_by_exhaustive_search():
    y, X = _sim()
    res = me.OLS(y, X).fit()
    s = res.sensitivity("x1", kind="sign", max_fraction=0.5)
    assert s.found and s.verified and s.refit.estimate * res.params["x1"] < 0
    m, n = s.n_dropped, len(y)
    # (a) no smaller set is predicted to flip: the greedy set is optimal for the linear prediction
    dphi = -res.influence_on("x1").to_numpy() / n
    for size in range(1, m):
        best = min(sum(dphi[list(c)]) for c in combinations(range(n), size))
        assert np.sign(res.params["x1"] + best) == np.sign(res.params["x1"])
    # (b) and no smaller set flips the sign in an exact refit
    for size in range(1, m):
        for c in combinations(range(n), size):
            keep = np.setdiff1d(np.arange(n), c)
            b = np.linalg.lstsq(X[keep], y[keep], rcond=None)[0][1]
            assert np.sign(b) == np.sign(res.params["x1"])
    # the refit reported is the refit without the dropped rows
    keep = np.setdiff1d(np.arange(n), np.asarray(s.dropped))
    direct = np.linalg.lstsq(X[keep], y[keep], rcond=None)[0][1]
    np.testing.assert_allclose(s.refit.estimate, direct)
    assert "refit confirms" in s.summary() and f"dropping {m} of 14" in repr(s)


def test_significance_on_spector_logit():
    d = sm.datasets.spector.load_pandas().data
    res = me.Logit.from_formula("GRADE ~ GPA + TUCE + PSI", d).fit()
    s = res.sensitivity("PSI", kind="significance", max_fraction=0.2)
    assert res.pvalues["PSI"] < 0.05
    assert s.found and s.verified and not s.refit.significant
    assert s.n_dropped <= 3 and "insignificant" in s.summary()
    # the prediction of the estimate is the IJ sum
    n = res.nobs
    pred = res.params["PSI"] - res.influence_on("PSI").loc[s.dropped].sum() / n
    assert s.predicted.estimate == pytest.approx(pred)


@pytest.mark.parametrize("cov_type", ["nonrobust", "HC0", "HC1"])
def test_linearised_se_is_close_to_refit(cov_type):
    d = sm.datasets.fair.load_pandas().data.iloc[:600]
    formula = "affairs ~ rate_marriage + age + yrs_married"
    res = me.OLS.from_formula(formula, d).fit(cov_type=cov_type)
    s = res.sensitivity("age", kind="significance", max_fraction=0.05)
    assert s.found and s.note == ""
    # first-order se moves in the right direction and lands near the refit
    assert abs(s.predicted.se - s.refit.se) < 0.5 * abs(s.refit.se - s.original.se) + 1e-12
    assert s.verified


def test_groups_and_not_found():
    y, X = _sim(n=40)
    g = np.repeat(np.arange(10), 4)
    res = me.OLS(y, X).fit()
    s = res.sensitivity("x1", kind="significance", max_fraction=0.5, groups=g)
    assert s.unit_name == "groups" and s.n_units == 10 and s.found
    w = np.where(np.isin(g, np.asarray(s.dropped)), 0.0, 1.0)
    assert s.refit.estimate == pytest.approx(res.refit(weights=w).params["x1"])
    # the predicted change is the sum of the groups' first-order changes
    dphi = -res.influence_on("x1", groups=g) / res.nobs
    assert s.predicted.estimate == pytest.approx(res.params["x1"] + dphi.loc[s.dropped].sum())
    big = me.OLS(X @ [0.0, 5.0] + np.random.default_rng(0).normal(size=40), X).fit()
    s2 = big.sensitivity("x1", kind="sign", max_fraction=0.05)
    assert not s2.found and s2.refit is None and "no set of at most 2 of 40" in s2.summary()


def test_both_opposite_significant_sign():
    rng = np.random.default_rng(11)
    n = 300
    x = rng.normal(size=n)
    y = -0.2 * x + rng.normal(size=n)
    y[np.flatnonzero(x > 0.8)[:20]] += 2.5    # 20 shifted points turn the slope positive
    res = me.OLS(y, np.c_[np.ones(n), x]).fit()
    assert res.params["x1"] > 0 and res.pvalues["x1"] < 0.05
    s = res.sensitivity("x1", kind="both", max_fraction=0.2)
    assert s.found and s.predicted.estimate < 0 and s.predicted.significant
    assert s.verified and s.refit.estimate < 0 and s.refit.significant
    assert "significant with the opposite sign" in s.summary()


def test_bad_input():
    y, X = _sim()
    res = me.OLS(y, X).fit()
    with pytest.raises(MEstimateError, match="allowed values"):
        res.sensitivity("x1", kind="magnitude")
    with pytest.raises(MEstimateError, match="max_fraction"):
        res.sensitivity("x1", max_fraction=0)
    with pytest.raises(MEstimateError, match="not finite"):
        res.sensitivity("log(-abs(x1))")
