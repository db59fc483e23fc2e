"""The fast paths of the large-n covariances and of the OLS fit (issue 6, case 4).

Each is checked against a direct computation written the obvious way (group sums by a
loop over groups, lag products one lag at a time, labels factorised by pandas, QR least
squares) and, end to end, against the stored R references of tests/reference/covariance.
"""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from _covariance_ref import fit, r_value, rel_diff
from hypothesis import given, settings
from hypothesis import strategies as st

import mestimate as me
import mestimate.models.linear as linear
from mestimate.covariance import hac_weights, kernel_weights, meat_cluster
from mestimate.covariance.hac import weighted_autocovariance
from mestimate.covariance._checks import _dense_int_codes, as_estfun, factorize_rows
from mestimate.covariance.cluster import _rowsum
from mestimate.covariance.hac import _lagged_cross
from mestimate.exceptions import DataError


# ------------------------------------------------------------------ cluster sums
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), k=st.integers(1, 4), g=st.integers(1, 12), seed=st.integers(0, 2**16))
def test_rowsum_equals_a_loop_over_groups(n, k, g, seed):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, k))
    codes = rng.integers(0, g, n)  # some codes may be unused: their row must be zero
    expect = np.array([u[codes == c].sum(axis=0) for c in range(g)]).reshape(g, k)
    np.testing.assert_allclose(_rowsum(u, codes, g), expect, rtol=1e-12, atol=1e-12)


def test_rowsum_accepts_any_memory_layout():
    rng = np.random.default_rng(0)
    u = np.asfortranarray(rng.standard_normal((50, 3)))
    codes = rng.integers(0, 5, 50)
    expect = np.column_stack([np.bincount(codes, weights=u[:, j], minlength=5) for j in range(3)])
    np.testing.assert_allclose(_rowsum(u, codes, 5), expect, rtol=1e-13)
    np.testing.assert_allclose(_rowsum(u[::2], codes[::2], 5),
                               np.column_stack([np.bincount(codes[::2], weights=u[::2, j], minlength=5)
                                                for j in range(3)]), rtol=1e-13)


@pytest.mark.parametrize("labels", [
    np.array([5, 3, 3, 9, -2, 5]),
    np.array([3, 1, 2, 1], dtype=np.uint8),
    np.array([True, False, True]),
    np.array([2**40, 7, 2**40, 7, 8]),        # range too wide: pandas path
    np.array([2**63 - 1, 0, 2**63 - 1]),      # near the int64 limit: pandas path
    np.array(["b", "a", "b"], dtype=object),
    np.array([1.5, 0.5, 1.5]),
])
def test_integer_codes_equal_pandas_factorize(labels):
    frame = pd.DataFrame({0: labels})
    np.testing.assert_array_equal(factorize_rows(frame, [0]), pd.factorize(labels, sort=True)[0])
    fast = _dense_int_codes(labels)
    if fast is not None:
        np.testing.assert_array_equal(fast, pd.factorize(labels, sort=True)[0])


def test_dense_codes_taken_only_for_integers_of_modest_range():
    assert _dense_int_codes(np.array([1, 5, 3])) is not None
    assert _dense_int_codes(np.array([0, 10**9])) is None
    assert _dense_int_codes(np.array([0.0, 1.0])) is None


def test_cluster_meat_with_integer_and_string_labels_agree():
    rng = np.random.default_rng(3)
    u = rng.standard_normal((400, 3))
    g = rng.integers(-20, 40, 400)
    as_text = np.array([f"g{v:+04d}" for v in g], dtype=object)
    np.testing.assert_allclose(meat_cluster(u, g), meat_cluster(u, as_text), rtol=1e-13)
    two = meat_cluster(u, [g, g % 3])
    np.testing.assert_allclose(two, meat_cluster(u, [as_text, g % 3]), rtol=1e-13)


# ------------------------------------------------------------------------- HAC
def _lag_products(u, w):
    """Σ_j w_j u[:n−j]ᵀ u[j:], one lag at a time (einsum: no BLAS threads in the reference)."""
    half = w[0] * np.einsum("ti,tj->ij", u, u)
    for j in range(1, min(w.size, u.shape[0])):
        half = half + w[j] * np.einsum("ti,tj->ij", u[:-j], u[j:])
    return half


@pytest.mark.parametrize(("n", "k"), [(1, 1), (5, 3), (255, 3), (4097, 40),
                                      (50_001, 2)])  # one block; several, the last partial
@pytest.mark.parametrize("lags", [0, 1, 7, 48])
def test_lagged_cross_equals_lag_by_lag_products(n, k, lags):
    rng = np.random.default_rng(n * 1000 + k + lags)
    u = rng.standard_normal((n, k))
    w = rng.uniform(-1, 1, lags + 1)
    w = w[: n]  # as weighted_autocovariance: no lag beyond n − 1
    np.testing.assert_allclose(_lagged_cross(u, w), _lag_products(u, w), rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("lags", [3, 60])  # block path and FFT path
def test_weighted_autocovariance_within_groups_equals_brute_force(lags):
    rng = np.random.default_rng(lags)
    n = 3000
    codes = np.sort(rng.integers(0, 7, n))
    u = rng.standard_normal((n, 2))
    w = 1 - np.arange(lags + 1) / (lags + 1)
    w_half = w.copy()
    w_half[0] *= 0.5
    expect = np.zeros((2, 2))
    for c in np.unique(codes):
        h = _lag_products(u[codes == c], w_half)
        expect += h + h.T
    np.testing.assert_allclose(weighted_autocovariance(u, w, codes), expect, rtol=1e-10)
    h = _lag_products(u, w_half)
    np.testing.assert_allclose(weighted_autocovariance(u, w), h + h.T, rtol=1e-10)


@pytest.mark.parametrize("kernel", ["bartlett", "parzen", "truncated", "quadratic-spectral"])
@pytest.mark.parametrize("bw", [0.5, 1.0, 2.0, 3.7, 11.0, 150.0])
def test_hac_weights_equal_the_kernel_on_every_lag(kernel, bw):
    n = 100
    full = kernel_weights(np.arange(n) / bw, kernel)
    keep = np.flatnonzero(np.abs(full) > 1e-7)
    expect = full[: keep.max() + 1] if keep.size else full[:1]
    np.testing.assert_array_equal(hac_weights(n, bw, kernel), expect)


# ------------------------------------------------------------- estfun checking
def test_as_estfun_finite_values_whose_sum_overflows_pass():
    big = np.full((3, 2), 1e308)
    assert as_estfun(big) is not None


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_as_estfun_names_the_non_finite_rows(bad):
    u = np.ones((12, 2))
    u[[3, 7], 1] = bad
    with pytest.raises(DataError, match=r"rows \[3, 7\]"):
        as_estfun(u)


def test_as_estfun_inf_minus_inf_is_caught():
    u = np.ones((4, 1))
    u[0], u[2] = np.inf, -np.inf
    with pytest.raises(DataError, match=r"rows \[0, 2\]"):
        as_estfun(u)


# ---------------------------------------------------------------------- OLS fit
@pytest.fixture(params=["cholesky", "qr"])
def ols_path(request, monkeypatch):
    if request.param == "qr":  # no equilibrated XᵀX is accepted: always QR
        monkeypatch.setattr(linear, "_MAX_GRAM_COND", 0.5)
    return request.param


def _check_method(res, path):
    assert res.method == ("lstsq (QR)" if path == "qr" else "normal equations (Cholesky, refined)")


@pytest.mark.parametrize("name", ["ps_lm", "pet_lm", "inv_lm"])
def test_ols_both_solvers_equal_r(name, ols_path):
    f = fit(name)
    res = me.OLS(f.y, pd.DataFrame(f.X, columns=f.param_names)).fit()
    _check_method(res, ols_path)
    np.testing.assert_allclose(res.params.to_numpy(), r_value(name, "coef"), rtol=1e-10, atol=0)
    assert rel_diff(res.cov_params("HC1").to_numpy(), r_value(name, "vcovHC_HC1")) < 1e-8
    assert res.grad_norm < 1e-8 * np.abs(f.X.T @ f.y).max() / len(f.y)
    r = f.y - f.X @ res.params.to_numpy()
    assert res.loss == pytest.approx(0.5 * np.mean(r**2), rel=1e-12)


def test_ols_cluster_and_hac_of_both_solvers_equal_r(ols_path):
    f = fit("pet_lm")
    res = me.OLS(f.y, f.X).fit(cov_type="cluster", cov_kwds={"groups": f.data.firm.to_numpy()})
    _check_method(res, ols_path)
    assert rel_diff(res.cov_params().to_numpy(), r_value("pet_lm", "vcovCL_one_HC1_cadjust1")) < 1e-8
    f = fit("inv_lm")
    res = me.OLS(f.y, f.X).fit(cov_type="HAC", cov_kwds={"maxlags": 4})
    _check_method(res, ols_path)
    assert rel_diff(res.cov_params().to_numpy(), r_value("inv_lm", "NeweyWest_lag4_pw0")) < 1e-8


def test_ols_nearly_collinear_design_is_solved_by_qr():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(500)
    # cond of the equilibrated XᵀX ~ 1e9: above the Cholesky limit, still identified
    X = np.c_[np.ones(500), x, x + 3e-5 * rng.standard_normal(500)]
    y = X @ [1.0, 2.0, -1.0] + rng.standard_normal(500)
    res = me.OLS(y, X).fit()
    assert res.method == "lstsq (QR)"
    np.testing.assert_allclose(res.params.to_numpy(), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-7)


def test_ols_weighted_fit_equals_qr_on_scaled_rows():
    rng = np.random.default_rng(6)
    X = np.c_[np.ones(300), rng.standard_normal((300, 2))]
    y = X @ [0.5, 1.0, -2.0] + rng.standard_normal(300)
    w = rng.uniform(0, 3, 300)
    w[:5] = 0.0
    res = me.OLS(y, X, weights=w).fit()
    sw = np.sqrt(w)
    np.testing.assert_allclose(res.params.to_numpy(), np.linalg.lstsq(X * sw[:, None], y * sw, rcond=None)[0],
                               rtol=1e-12)
    np.testing.assert_allclose(res.bread(), (X * w[:, None]).T @ X / 295, rtol=1e-12)


def test_ols_kept_residuals_are_those_of_the_params_asked_for():
    rng = np.random.default_rng(7)
    X = np.c_[np.ones(200), rng.standard_normal((200, 2))]
    y = X @ [1.0, 0.5, 0.0] + rng.standard_normal(200)
    model = me.OLS(y, X)
    res = model.fit()
    b = res.params.to_numpy()
    np.testing.assert_array_equal(model.resid(b), y - X @ b)
    other = b + 0.1
    np.testing.assert_allclose(model.score_obs(other), (X @ other - y)[:, None] * X, rtol=1e-14)
    np.testing.assert_allclose(model.loss_obs(other, slice(3, 9)), 0.5 * (y - X @ other)[3:9] ** 2)
    np.testing.assert_allclose(res.estfun(), (X @ b - y)[:, None] * X, rtol=1e-12, atol=1e-14)
    # a reweighted copy recomputes XᵀWX; a pickled model carries no caches
    w = np.r_[np.zeros(20), np.ones(180)]
    np.testing.assert_allclose(model.with_weights(w).hessian(b), X[20:].T @ X[20:] / 180, rtol=1e-13)
    np.testing.assert_allclose(model.hessian(b), X.T @ X / 200, rtol=1e-13)
    state = pickle.loads(pickle.dumps(model)).__dict__
    assert "_gram_cache" not in state and "_resid_cache" not in state
