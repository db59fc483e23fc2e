"""Influence functions: against finite differences of ε-weighted refits, invariances, errors."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import mestimate as me
from mestimate.exceptions import DataError, MEstimateError

REF = Path(__file__).parent / "reference" / "influence"


@pytest.fixture(scope="module")
def infert():
    d = pd.read_csv(REF / "data_infert.csv")
    return me.Logit.from_formula("case ~ age + parity + induced + spontaneous", d).fit()


def _logit_loss(p, d):
    eta = d["X"] @ p
    return np.log1p(np.exp(eta)) - d["y"] * eta      # complex-safe: complex-step derivatives


@pytest.mark.parametrize("rows", [[0, 17, 101]])
def test_influence_is_derivative_of_upweighted_refit(infert, rows):
    # mean loss (1/n) Σ w_s L_s with n fixed: w_t = 1 + nε adds ε L(z_t), so
    # I(z_t) = dθ̂/dε = (θ̂(ε) − θ̂(−ε)) / 2ε
    infl = infert.influence()
    n, eps = infert.nobs, 1e-5
    for t in rows:
        fits = []
        for e in (eps, -eps):
            w = np.ones(n)
            w[t] += n * e
            fits.append(infert.refit(weights=w, xtol=1e-14).params.to_numpy())
        fd = (fits[0] - fits[1]) / (2 * eps)
        np.testing.assert_allclose(infl.iloc[t].to_numpy(), fd, rtol=1e-6, atol=1e-8)


def test_generic_model_matches_logit(infert):
    m = infert.model
    gen = me.MEstimator(_logit_loss, {"y": m.endog, "X": m.exog}, param_names=infert.param_names)
    res = gen.fit(xtol=1e-13)
    np.testing.assert_allclose(res.influence().to_numpy(), infert.influence().to_numpy(),
                               rtol=1e-6, atol=1e-8)


def test_influence_on_is_gradient_times_influence(infert):
    p = infert.params
    got = infert.influence_on("age / parity")
    grad = np.array([0.0, 1 / p["parity"], -p["age"] / p["parity"] ** 2, 0, 0])
    np.testing.assert_allclose(got.to_numpy(), infert.influence().to_numpy() @ grad, rtol=1e-9)
    assert got.name == "age / parity"
    # a parameter name and a callable give the column of influence()
    np.testing.assert_allclose(infert.influence_on("induced"), infert.influence()["induced"])
    np.testing.assert_allclose(infert.influence_on(lambda q: q["induced"] * 2),
                               2 * infert.influence()["induced"], rtol=1e-9)


def test_influence_on_sign_convention():
    # adding a point above the mean raises the mean
    y = np.array([1.0, 2.0, 3.0, 10.0])
    res = me.OLS(y, np.ones((4, 1))).fit()
    s = res.influence_on("const")
    assert s.iloc[3] > 0 and s.iloc[0] < 0


def test_influence_on_groups_weighted_sums(infert):
    g = np.arange(infert.nobs) % 7
    s = infert.influence_on("age", groups=g)
    full = infert.influence()["age"].to_numpy()
    np.testing.assert_allclose(s.to_numpy(), [full[g == j].sum() for j in range(7)], rtol=1e-12)
    w = 1.0 + (np.arange(infert.nobs) % 3)
    rw = infert.refit(weights=w)
    sw = rw.influence_on("age", groups=g)
    fw = rw.influence()["age"].to_numpy() * w
    np.testing.assert_allclose(sw.to_numpy(), [fw[g == j].sum() for j in range(7)], rtol=1e-12)


def test_row_index_from_formula():
    d = pd.read_csv(REF / "data_stackloss.csv")
    d.index = [f"r{i}" for i in range(len(d))]
    d.loc["r3", "Air.Flow"] = np.nan
    res = me.OLS.from_formula("Q('stack.loss') ~ Q('Air.Flow')", d).fit()
    infl = res.influence()
    assert "r3" not in infl.index and list(infl.index[:3]) == ["r0", "r1", "r2"]


def test_bad_input(infert):
    with pytest.raises(DataError, match="labels but the data have"):
        infert.influence_on("age", groups=np.arange(5))
    g = np.arange(infert.nobs, dtype=float)
    g[4] = np.nan
    with pytest.raises(DataError, match="missing labels"):
        infert.influence_on("age", groups=g)
    with pytest.raises(MEstimateError, match="not finite"):
        infert.influence_on("log(-age)")
    with pytest.raises(MEstimateError, match="scalar"):
        infert.influence_on("age, parity")
    with pytest.raises(MEstimateError):
        infert.influence_on("nosuchparam")


def _data(seed, n=25):
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(n), rng.normal(size=(n, 2))]
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ [0.2, 0.8, -0.5]))).astype(float)
    return X, y


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_permuting_observations_permutes_rows(seed):
    X, y = _data(seed % 50, n=40)
    perm = np.random.default_rng(seed).permutation(40)
    try:
        a = me.Logit(y, X).fit().influence().to_numpy()
    except me.PerfectSeparationError:
        return
    b = me.Logit(y[perm], X[perm]).fit().influence().to_numpy()
    np.testing.assert_allclose(b, a[perm], rtol=1e-7, atol=1e-10)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_duplicating_data_halves_ij_shifts(seed):
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(12), rng.normal(size=(12, 2))]
    y = X @ [1.0, 0.5, -0.3] + rng.standard_t(4, size=12)
    res = me.OLS(y, X).fit()
    res2 = me.OLS(np.r_[y, y], np.r_[X, X]).fit()
    d1 = res.loo_params("ij").to_numpy() - res.params.to_numpy()
    d2 = res2.loo_params("ij").to_numpy()[:12] - res2.params.to_numpy()
    np.testing.assert_allclose(d2, d1 / 2, rtol=1e-9, atol=1e-12)
    # the influence function itself does not change
    np.testing.assert_allclose(res2.influence().to_numpy()[:12], res.influence().to_numpy(),
                               rtol=1e-9, atol=1e-12)


def test_influence_of_estimating_equations_uses_the_transposed_inverse_jacobian():
    """I(z_t) = −H⁻¹ψ_t with a non-symmetric H, whether or not the scores were cached by a
    robust covariance (two code paths)."""
    rng = np.random.default_rng(0)
    n = 200
    X = np.c_[np.ones(n), rng.normal(size=(n, 2))]
    y = X @ [1.0, 0.5, -0.3] + rng.standard_t(3, size=n)
    Z = np.c_[X[:, 0], X[:, 1] + 0.5 * X[:, 2], X[:, 2]]

    def psi(p, d):  # instrumental-variable equations: ∂ψ̄/∂θ = −ZᵀX/n is not symmetric
        return -(d["y"] - d["X"] @ p)[:, None] * d["Z"]

    model = me.MEstimator(score=psi, data={"y": y, "X": X, "Z": Z}, k_params=3)
    direct = np.linalg.solve(Z.T @ X, Z.T @ y)
    H = Z.T @ X / n
    for cov_type in ("nonrobust", "HC0"):
        res = model.fit(cov_type=cov_type)
        np.testing.assert_allclose(res.params, direct, rtol=1e-10)
        expected = -np.linalg.solve(H, psi(direct, {"y": y, "X": X, "Z": Z}).T).T
        np.testing.assert_allclose(res.influence().to_numpy(), expected, rtol=1e-8, atol=1e-10)


def test_returned_frames_own_their_memory():
    # influence() and the Newton-step LOO scale H⁻¹x_t in place: each call must work on
    # memory of its own, so repeating a call, or editing a frame it returned, changes
    # nothing, and the results keep no n × k array alive after them
    d = pd.read_csv(REF / "data_infert.csv")
    res = me.Logit.from_formula("case ~ age + parity + induced + spontaneous", d).fit()
    first_infl, first_loo = res.influence(), res.loo_params("newton")
    infl_values, loo_values = first_infl.to_numpy().copy(), first_loo.to_numpy().copy()
    first_infl.iloc[:, :] = 0.0
    first_loo.iloc[:, :] = 0.0
    np.testing.assert_array_equal(res.influence().to_numpy(), infl_values)
    np.testing.assert_array_equal(res.loo_params("newton").to_numpy(), loo_values)
    points = first_infl.index[[3, 40]]
    np.testing.assert_array_equal(res.loo_params("newton", points=points).to_numpy(),
                                  loo_values[[3, 40]])
    held = [key for key, v in res._cache.items()
            if isinstance(v, np.ndarray) and v.ndim == 2 and v.shape[0] == res.nobs]
    assert held == []
