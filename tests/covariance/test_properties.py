"""Invariances a statistician would check, as hypothesis property tests, plus brute force."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mestimate.covariance import meat_cluster, meat_hac, meat_hc, sandwich
from mestimate.covariance.hac import weighted_autocovariance
from mestimate.covariance.kernels import hac_weights

SETTINGS = settings(max_examples=40, deadline=None)
finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@st.composite
def scores(draw, min_n=6, max_n=30, k=None):
    n = draw(st.integers(min_n, max_n))
    k = k or draw(st.integers(1, 3))
    u = draw(arrays(float, (n, k), elements=finite))
    return u


def ols_data(seed: int, n: int, k: int):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, k - 1))])
    y = X @ rng.standard_normal(k) + rng.standard_normal(n) * (1 + np.abs(X[:, -1]))
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    return X, y, beta


@SETTINGS
@given(u=scores(), seed=st.integers(0, 2**31 - 1))
def test_permuting_rows_leaves_hc_and_cluster_meats_unchanged(u, seed):
    rng = np.random.default_rng(seed)
    n = u.shape[0]
    perm = rng.permutation(n)
    lev = rng.uniform(0, 0.9, n)
    g = rng.integers(0, 4, (n, 2))
    for t in ("HC0", "HC1", "HC2", "HC3"):
        np.testing.assert_allclose(meat_hc(u[perm], type=t, leverage=lev[perm]),
                                   meat_hc(u, type=t, leverage=lev), rtol=1e-10, atol=1e-10)
    if len(np.unique(g[:, 0])) > 1 and len(np.unique(g[:, 1])) > 1:
        for gg in (g[:, 0], g):
            np.testing.assert_allclose(meat_cluster(u[perm], gg[perm], k=1),
                                       meat_cluster(u, gg, k=1), rtol=1e-10, atol=1e-9)


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(8, 40), k=st.integers(1, 3))
def test_duplicating_the_data_halves_hc0(seed, n, k):
    X, y, beta = ols_data(seed, n, k)
    X2, y2 = np.vstack([X, X]), np.r_[y, y]
    cov1 = sandwich(X.T @ X / n, meat_hc(-X * (y - X @ beta)[:, None]), n)
    cov2 = sandwich(X2.T @ X2 / (2 * n), meat_hc(-X2 * (y2 - X2 @ beta)[:, None]), 2 * n)
    np.testing.assert_allclose(cov2, cov1 / 2, rtol=1e-10, atol=1e-14 * np.abs(cov1).max())


@SETTINGS
@given(u=scores())
def test_one_observation_per_cluster_is_hc0(u):
    n = u.shape[0]
    np.testing.assert_allclose(meat_cluster(u, np.arange(n)[::-1], type="HC0", cadjust=False),
                               meat_hc(u), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(u=scores(), seed=st.integers(0, 2**31 - 1), n_lags=st.integers(0, 8))
def test_weighted_autocovariance_equals_brute_force(u, seed, n_lags):
    rng = np.random.default_rng(seed)
    n = u.shape[0]
    w = rng.uniform(-1, 1, n_lags + 1)
    codes = np.sort(rng.integers(0, 3, n))
    for c in (None, codes):
        same = np.ones((n, n), bool) if c is None else c[:, None] == c[None, :]
        lag = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
        wmat = np.where((lag <= n_lags) & same, np.r_[w, np.zeros(n)][np.minimum(lag, n)], 0.0)
        brute = u.T @ wmat @ u  # Σ_s Σ_t w_|s−t| u_s u_tᵀ within groups
        scale = np.abs(u).max() ** 2 * n * (n_lags + 1) + 1e-300
        np.testing.assert_allclose(weighted_autocovariance(u, w, c), brute, atol=1e-11 * scale)


@SETTINGS
@given(u=scores(min_n=12), bw=st.floats(0.5, 6))
def test_hac_with_one_group_equals_plain_hac(u, bw):
    n = u.shape[0]
    np.testing.assert_allclose(meat_hac(u, bw=bw, groups=np.zeros(n)), meat_hac(u, bw=bw),
                               rtol=1e-9, atol=1e-9 * np.abs(u).max() ** 2)
    # bandwidth below 1: only lag 0 remains, i.e. HC0
    np.testing.assert_allclose(meat_hac(u, bw=0.999), meat_hc(u), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(u=scores(min_n=12), seed=st.integers(0, 2**31 - 1))
def test_hac_order_argument_undoes_a_shuffle(u, seed):
    perm = np.random.default_rng(seed).permutation(u.shape[0])
    np.testing.assert_allclose(meat_hac(u[perm], bw=3.0, order=perm), meat_hac(u, bw=3.0),
                               rtol=1e-10, atol=1e-10 * np.abs(u).max() ** 2)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_groups=st.integers(3, 8), k=st.integers(1, 3))
def test_cluster_hc3_is_the_leave_one_cluster_out_jackknife(seed, n_groups, k):
    """CR3 for OLS = (G−1)/G Σ_g (β̂_(−g) − β̂)(β̂_(−g) − β̂)ᵀ, by refitting without each cluster."""
    rng = np.random.default_rng(seed)
    groups = np.r_[np.arange(n_groups), rng.integers(0, n_groups, 4 * n_groups)]
    n = groups.size
    X, y, beta = ols_data(seed, n, k)
    deltas = []
    for g in range(n_groups):
        keep = groups != g
        deltas.append(np.linalg.lstsq(X[keep], y[keep], rcond=None)[0] - beta)
    deltas = np.array(deltas)
    jack = (n_groups - 1) / n_groups * deltas.T @ deltas
    meat = meat_cluster(-X * (y - X @ beta)[:, None], groups, type="HC3", cadjust=False, design=X)
    np.testing.assert_allclose(sandwich(X.T @ X / n, meat, n), jack, rtol=1e-8)
    # (For weighted fits R's vcovCL applies (I − X_g A X_gᵀ W_g)⁻¹ to the working
    # residuals times weights, which is not the weighted jackknife; we follow R, and
    # test_against_r checks the glm cases.)


def test_hac_weights_match_bartlett_newey_west_lags():
    np.testing.assert_allclose(hac_weights(100, 5, "bartlett"), 1 - np.arange(5) / 5)
