"""MEstimator core: generic losses, numerical derivatives, Z-estimation, errors."""
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

import mestimate as me
from mestimate.exceptions import ConvergenceWarning


def logit_loss(p, d):
    eta = d["X"] @ p
    return np.log1p(np.exp(eta)) - d["y"] * eta      # complex-safe


def logit_loss_unsafe(p, d):
    eta = d["X"] @ p
    return np.logaddexp(0.0, eta) - d["y"] * eta     # not complex-safe


def test_generic_loss_matches_statsmodels_logit(logit_data):
    y, X = logit_data
    sm_res = sm.Logit(y, X).fit(disp=0, tol=1e-12)
    cases = [(logit_loss, "auto", "autodiff"), (logit_loss_unsafe, "auto", "autodiff"),
             (logit_loss, "complex", "complex"), (logit_loss_unsafe, "central", "central"),
             (logit_loss, "auto-no-autodiff", "complex")]
    for loss, option, method in cases:
        if option == "auto-no-autodiff":  # a loss autodiff cannot follow: complex step is next
            def loss(p, d, f=loss):
                return f(p + 0.0 * np.real(np.asarray(p)).sum(), d)
            option = "auto"
        model = me.MEstimator(loss, {"y": y, "X": X}, param_names=["c", "a", "b", "d"],
                              derivatives=option)
        assert model.derivative_method == method
        res = model.fit()
        assert res.converged
        np.testing.assert_allclose(res.params, sm_res.params, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(res.bse, sm_res.bse, rtol=1e-6)
        # covariance entries judged on the correlation scale: |a − b| ≤ tol·sqrt(v_ii v_jj)
        a, b = res.cov_params().to_numpy(), np.asarray(sm_res.cov_params())
        d = np.sqrt(np.outer(np.diag(b), np.diag(b)))
        assert np.max(np.abs(a - b) / d) < 1e-6


def test_dataframe_data_and_labels(logit_data):
    y, X = logit_data
    df = pd.DataFrame(X[:, 1:], columns=["a", "b", "d"]).assign(y=y)

    def loss(p, d):
        eta = p[0] + d[["a", "b", "d"]].to_numpy() @ p[1:]
        return np.log1p(np.exp(eta)) - d["y"].to_numpy() * eta

    res = me.MEstimator(loss, df, param_names=["const", "a", "b", "d"]).fit()
    assert list(res.params.index) == ["const", "a", "b", "d"]
    assert list(res.conf_int().columns) == ["lower", "upper"]
    np.testing.assert_allclose(res.params, sm.Logit(y, X).fit(disp=0).params, rtol=1e-7)


def test_zestimator_matches_mestimator(logit_data):
    y, X = logit_data

    def psi(p, d):
        return (1 / (1 + np.exp(-(d["X"] @ p))) - d["y"])[:, None] * d["X"]

    z = me.MEstimator(score=psi, data={"y": y, "X": X}, k_params=4).fit(cov_type="HC0")
    m = me.Logit(y, X).fit(cov_type="HC0")
    assert z.model.is_zestimator and np.isnan(z.loss)
    np.testing.assert_allclose(z.params, m.params, rtol=1e-9)
    np.testing.assert_allclose(z.bread(), m.bread(), rtol=1e-6)


def test_zestimator_nonsymmetric_equations():
    # mean and ratio: psi1 = y - mu, psi2 = x*theta - y (bread not symmetric)
    rng = np.random.default_rng(3)
    y = rng.normal(5, 1, 200)
    x = rng.normal(2, 0.3, 200)

    def psi(p, d):
        return np.c_[d[:, 0] - p[0], d[:, 1] * p[1] - d[:, 0]]

    res = me.MEstimator(score=psi, data=np.c_[y, x], k_params=2, start_params=[1.0, 1.0]).fit()
    np.testing.assert_allclose(res.params, [y.mean(), y.sum() / x.sum()], rtol=1e-10)


def test_user_hessian_and_check_derivatives(logit_data):
    y, X = logit_data

    def score(p, d):
        return (1 / (1 + np.exp(-(d["X"] @ p))) - d["y"])[:, None] * d["X"]

    def hess(p, d):
        pr = 1 / (1 + np.exp(-(d["X"] @ p)))
        return np.einsum("t,ti,tj->tij", pr * (1 - pr), d["X"], d["X"])

    model = me.MEstimator(logit_loss, {"y": y, "X": X}, score=score, hessian=hess, k_params=4)
    checks = model.check_derivatives(np.full(4, 0.1))
    assert checks.ok and all(c.ok for c in checks)
    assert [c.name for c in checks] == ["score", "hessian_obs"]
    assert repr(checks).startswith("score: OK") and "\nhessian_obs: OK" in repr(checks)
    bad = me.MEstimator(logit_loss, {"y": y, "X": X}, score=lambda p, d: 2 * score(p, d), k_params=4)
    checks = bad.check_derivatives(np.full(4, 0.1))
    (check,) = checks
    assert not checks.ok
    assert not check.ok and check.max_rel_error == pytest.approx(1.0, rel=1e-6)
    assert "MISMATCH" in str(check) and str(checks) == str(check)


def test_wrong_shape_and_nonfinite_loss_are_named():
    y = np.arange(10.0)
    with pytest.raises(me.LossError, match=r"shape \(\) ; expected \(10,\)|shape \(\); expected \(10,\)"):
        me.MEstimator(lambda p, d: np.sum((d - p[0]) ** 2), y, k_params=1)
    with pytest.raises(me.LossError, match="first at index \\(3,\\)"):
        with np.errstate(divide="ignore"):
            me.MEstimator(lambda p, d: 1.0 / (d - 3.0 + p[0]), y, k_params=1)


def test_nan_in_data_named_or_dropped():
    X = np.c_[np.ones(6), np.arange(6.0)]
    y = np.array([1.0, 2, np.nan, 4, 5, np.inf])
    with pytest.raises(me.DataError, match=r"2 of 6 rows: y \(2 rows\)"):
        me.OLS(y, X)
    res = me.OLS(y, X, missing="drop").fit()
    assert res.nobs == 4 and res.n_dropped == 2


def test_unknown_option_lists_allowed():
    with pytest.raises(me.MEstimateError, match="allowed values are: 'raise', 'drop', 'none'"):
        me.MEstimator(lambda p, d: (d - p[0]) ** 2, np.ones(3), k_params=1, missing="ignore")


def test_singular_hessian_names_combination():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    X = np.c_[np.ones(50), x, 2 * x]
    with pytest.raises(me.IdentificationError, match=r"x2.*x1|x1.*x2"):
        me.OLS(x + rng.normal(size=50), X).fit()


def test_nonconvergence_warns_and_is_recorded(logit_data):
    y, X = logit_data
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = me.MEstimator(logit_loss, {"y": y, "X": X}, k_params=4).fit(maxiter=1, fallback=False)
    assert not res.converged and "did not converge" in res.notes[0]


def test_fit_does_not_mutate_model_and_pickles(logit_data):
    y, X = logit_data
    model = me.Logit(y, X)
    before = model.__dict__.copy()
    res = model.fit(cov_type="HC1")
    assert model.__dict__.keys() == before.keys()
    assert all(model.__dict__[k] is before[k] for k in before)
    res2 = pickle.loads(pickle.dumps(res))
    np.testing.assert_allclose(res2.bse, res.bse)
    assert "Logit" in repr(res) and "converged" in repr(res)


def test_chunked_reductions_equal_unchunked(logit_data):
    y, X = logit_data
    a = me.MEstimator(logit_loss, {"y": y, "X": X}, k_params=4).fit()
    b = me.MEstimator(logit_loss, {"y": y, "X": X}, k_params=4, chunksize=37).fit()
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12)
    np.testing.assert_allclose(a.bse, b.bse, rtol=1e-9)


@settings(max_examples=20, deadline=None)
@given(st.randoms(use_true_random=False))
def test_permutation_and_zero_weight_invariance(rnd):
    rng = np.random.default_rng(rnd.randint(0, 2**31))
    n = 60
    X = np.c_[np.ones(n), rng.normal(size=n)]
    y = rng.poisson(np.exp(0.2 + 0.5 * X[:, 1])).astype(float)
    base = me.Poisson(y, X).fit()
    perm = rng.permutation(n)
    permuted = me.Poisson(y[perm], X[perm]).fit()
    np.testing.assert_allclose(permuted.params, base.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(permuted.bse, base.bse, rtol=1e-8)
    drop = rng.integers(n)
    w = np.ones(n)
    w[drop] = 0.0
    weighted = me.Poisson(y, X, weights=w).fit()
    deleted = me.Poisson(np.delete(y, drop), np.delete(X, drop, axis=0)).fit()
    np.testing.assert_allclose(weighted.params, deleted.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(weighted.bse, deleted.bse, rtol=1e-8)
    assert weighted.nobs == n - 1


def test_duplicating_data_halves_nonrobust_covariance(poisson_data):
    y, X = poisson_data
    a = me.Poisson(y, X).fit()
    b = me.Poisson(np.r_[y, y], np.r_[X, X]).fit()
    np.testing.assert_allclose(b.cov_params(), a.cov_params() / 2, rtol=1e-8)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 40), log_ratio=st.floats(-13.0, -6.0), seed=st.integers(0, 2**32 - 1),
       scales=st.floats(-6.0, 6.0))
def test_identification_check_decides_as_the_eigenvalues_do(k, log_ratio, seed, scales):
    # the check of the bread factorises C − 2·rtol·k·I first and only computes eigenvalues
    # when that fails: its verdict must be the eigenvalue criterion's, λ_min ≤ rtol·λ_max of
    # the unit-diagonal C, for matrices on either side of the threshold and any scaling
    from mestimate._identification import check_bread

    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(k, k)))
    lam = np.geomspace(1.0, 10.0 ** log_ratio, k) if k > 1 else np.ones(1)
    D = np.diag(10.0 ** (scales * rng.random(k)))
    H = D @ (Q * lam) @ Q.T @ D
    s = 1.0 / np.sqrt(np.diag(H))
    ev = np.linalg.eigvalsh(0.5 * (H * np.outer(s, s) + (H * np.outer(s, s)).T))
    singular = ev[0] <= 1e-10 * ev[-1]
    names = [f"x{j}" for j in range(k)]
    if singular:
        with pytest.raises(me.IdentificationError, match="singular|indefinite"):
            check_bread(H, names)
    else:
        check_bread(H, names)
