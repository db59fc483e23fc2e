"""Forward-mode automatic differentiation (mestimate.autodiff) and its use by MEstimator.

Every rule is checked against numerical differentiation (central differences with
Richardson extrapolation, which shares no code with the rules), and models fitted with
autodiff against statsmodels' analytic fits.
"""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import special

import mestimate as me
from mestimate import autodiff as ad
from mestimate import derivatives as nd
from mestimate._jet_rules import BINARY, UNARY
from mestimate.exceptions import MEstimateError

RNG = np.random.default_rng(11)
X2 = np.column_stack([np.ones(7), np.linspace(-0.3, 0.4, 7)])


def _numeric(f, theta):
    """Per-element gradient and Hessian of the sum, by Richardson central differences."""
    g = nd.jacobian(f, theta, method="central")
    h = nd.jacobian(lambda p: nd.jacobian(f, p, method="central").sum(axis=0), theta,
                    method="central")
    return g, 0.5 * (h + h.T)


def _check(f, theta, rtol=1e-6, hrtol=1e-5):
    out = ad.evaluate(f, theta)
    g_num, h_num = _numeric(f, theta)
    np.testing.assert_allclose(out.val, f(theta), rtol=1e-13)
    scale = np.max(np.abs(g_num)) + 1e-300
    np.testing.assert_allclose(np.broadcast_to(out.grad, g_num.shape), g_num, atol=rtol * scale)
    hs = ad.hessian_sum(out)
    np.testing.assert_allclose(hs, h_num, atol=hrtol * (np.max(np.abs(h_num)) + scale))
    # and tightly against differences of the (numerically verified) first-order jets
    h_jet = nd.jacobian(lambda p: ad.gradient_sum(ad.evaluate(f, p, order=1).reshape(-1)), theta,
                        method="central")
    np.testing.assert_allclose(hs, 0.5 * (h_jet + h_jet.T),
                               atol=1e-7 * (np.max(np.abs(h_jet)) + scale))
    np.testing.assert_allclose(ad.hessian_per_obs(out).sum(axis=0), hs, rtol=1e-12, atol=1e-12)
    return out


# domains where each rule is smooth; the index a + b·x stays inside them
_DOMAIN = {special.logit: (0.5, 0.4), np.arcsin: (0.2, 0.5), np.arccos: (0.2, 0.5)}


@pytest.mark.parametrize("ufunc", list(UNARY), ids=lambda u: u.__name__)
def test_every_unary_rule(ufunc):
    a, b = _DOMAIN.get(ufunc, (0.6, 0.8))
    x = X2[:, 1]
    _check(lambda p: ufunc(p[0] + p[1] * x), np.array([a, b]))


@pytest.mark.parametrize("ufunc", list(BINARY), ids=lambda u: u.__name__)
def test_every_binary_rule(ufunc):
    x = X2[:, 1]
    # both arguments parameter-dependent, then each one constant
    _check(lambda p: ufunc(p[0] + p[1] * x, p[2] - 0.5 * p[1] * x), np.array([0.7, 0.5, 1.3]))
    _check(lambda p: ufunc(p[0] + p[1] * x, 1.7 + x), np.array([0.7, 0.5]))
    _check(lambda p: ufunc(0.9 + x, p[0] + p[1] * x), np.array([0.7, 0.5]))


def test_xlogy_at_zero_counts():
    y = np.array([0.0, 0.0, 2.0, 5.0])
    out = _check(lambda p: special.xlogy(y, np.exp(p[0] + p[1] * np.arange(4.0))),
                 np.array([0.2, 0.3]))
    assert np.all(np.isfinite(out.grad))


_UNARY_SAFE = [np.tanh, np.sin, np.arctan, special.expit, lambda u: np.log1p(u * u),
               lambda u: np.exp(-0.5 * u * u), np.cos, lambda u: np.sqrt(1.0 + u * u)]
_BINARY_SAFE = [lambda u, v: u * v, lambda u, v: u - v, lambda u, v: np.logaddexp(u, v),
                lambda u, v: np.hypot(u, v + 2.0), lambda u, v: u / (1.5 + v * v),
                lambda u, v: np.where(u > v, u * u, v), lambda u, v: np.maximum(u, 0.5 * v)]
_KINKED = {5: 1.0, 6: 0.5}   # index in _BINARY_SAFE → c: the rule switches where u = c·v


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(_UNARY_SAFE) - 1),
                          st.integers(0, len(_BINARY_SAFE) - 1)), min_size=1, max_size=5),
       st.integers(0, 2**31 - 1))
def test_random_compositions_match_finite_differences(program, seed):
    """Any composition of supported operations has the derivatives of finite differences."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(9, 3))
    Z = rng.normal(size=(9, 3))
    theta = rng.normal(size=3) * 0.5

    def f(p, gaps=None):
        u, v = X @ p, Z @ p
        for i, j in program:
            a = _UNARY_SAFE[i](u)
            if gaps is not None and j in _KINKED:   # distance of each row from the kink
                gaps.append(np.min(np.abs(a - _KINKED[j] * v)))
            u, v = _BINARY_SAFE[j](a, v), u
        return u
    # where/maximum are not differentiable at their switch: the finite differences (steps up
    # to about 1e-3 in θ, nested) must not straddle it
    gaps = []
    f(theta, gaps)
    assume(min(gaps, default=np.inf) > 0.05)
    # nested numerical differences lose digits where hypot/logaddexp bend sharply
    _check(f, theta, rtol=1e-5, hrtol=1e-3)


def test_shape_operations_and_sums_over_categories():
    X = RNG.normal(size=(12, 3))

    def multinomial(p):  # softmax over 3 categories; the third is the base
        eta = np.column_stack([X @ p[:3], X @ p[3:], np.zeros(12)])
        return np.log(np.sum(np.exp(eta), axis=1)) - eta[:, 0]
    _check(multinomial, RNG.normal(size=6) * 0.3)
    _check(lambda p: np.mean(np.exp(X * p), axis=1, keepdims=True)[:, 0], np.array([0.1, 0.2, -0.3]))
    _check(lambda p: (p.reshape(3, 1) * X.T).sum(axis=0) ** 2, np.array([0.1, 0.2, -0.3]))
    _check(lambda p: np.dot(X, np.exp(p)) + p @ p + np.clip(X @ p, -0.2, 0.2), np.array([0.1, 0.2, -0.3]))
    _check(lambda p: (lambda a, b, c: (a + b * X[:, 0]) ** 2 / np.exp(c) + c)(*p), np.array([0.1, 0.2, -0.3]))
    _check(lambda p: np.concatenate([X[:6] @ p, np.exp(X[6:] @ p)]), np.array([0.1, 0.2, -0.3]))


def test_unsupported_operations_raise_and_are_reported():
    X = RNG.normal(size=(5, 2))
    for f, what in [(lambda p: np.asarray(p) @ X.T, "plain array"),
                    (lambda p: np.einsum("nk,k->n", X, p), "einsum"),
                    (lambda p: X[:, 0] * float(p[0]), "float")]:
        with pytest.raises(ad.AutodiffUnsupported, match=what):
            ad.evaluate(f, np.array([0.3, 0.2]))
        assert what in ad.unsupported_reason(f, np.array([0.3, 0.2]))


# ---------------------------------------------------------------------------- models
def _poisson_data(n=400, seed=3):
    rng = np.random.default_rng(seed)
    X = sm.add_constant(rng.normal(size=(n, 3)))
    off = rng.uniform(-0.5, 0.5, n)
    y = rng.poisson(np.exp(X @ np.array([0.3, 0.2, -0.4, 0.1]) + off)).astype(float)
    return y, X, off


def test_generic_poisson_loss_by_autodiff_equals_statsmodels():
    y, X, off = _poisson_data()

    def loss(p, d):
        eta = d["X"] @ p + d["off"]
        return np.exp(eta) - d["y"] * eta + special.gammaln(d["y"] + 1.0)

    model = me.MEstimator(loss, {"y": y, "X": X, "off": off}, k_params=4)
    assert model.derivative_method == "autodiff"
    res = model.fit(cov_type="HC0")
    ref = sm.Poisson(y, X, offset=off).fit(disp=0, tol=1e-14, cov_type="HC0")
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-9)   # exact derivatives, no 1e-6 slack
    np.testing.assert_allclose(res.cov_params("nonrobust"), ref.cov_params() * 0 +
                               np.linalg.inv(-ref.model.hessian(ref.params)), rtol=1e-9)


def test_generic_multinomial_logit_equals_statsmodels_mnlogit():
    rng = np.random.default_rng(5)
    n = 600
    X = sm.add_constant(rng.normal(size=(n, 2)))
    B = np.array([[0.2, -0.3], [0.5, 0.1], [-0.4, 0.6]])
    eta = np.column_stack([np.zeros(n), X @ B])
    pr = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    ycat = (rng.random(n)[:, None] > pr.cumsum(axis=1)).sum(axis=1)
    Y = np.eye(3)[ycat]

    def loss(p, d):
        e = np.column_stack([np.zeros(len(d["Y"])), d["X"] @ p.reshape(2, 3).T])
        return np.log(np.sum(np.exp(e), axis=1)) - np.sum(d["Y"] * e, axis=1)

    res = me.MEstimator(loss, {"Y": Y, "X": X}, k_params=6).fit()
    assert res.model.derivative_method == "autodiff"
    ref = sm.MNLogit(ycat, X).fit(disp=0, method="newton", tol=1e-14)
    np.testing.assert_allclose(res.params, np.asarray(ref.params).T.ravel(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.bse, np.asarray(ref.bse).T.ravel(), rtol=1e-8)


def test_weights_chunks_and_complex_step_agree():
    y, X, off = _poisson_data(n=300, seed=8)
    w = np.random.default_rng(1).integers(0, 3, size=300).astype(float)

    def loss(p, d):
        eta = d["X"] @ p + d["off"]
        return np.exp(eta) - d["y"] * eta

    data = {"y": y, "X": X, "off": off}
    fits = [me.MEstimator(loss, data, k_params=4, weights=w, derivatives=m, chunksize=c).fit()
            for m, c in [("autodiff", None), ("autodiff", 37), ("complex", None)]]
    for other in fits[1:]:
        np.testing.assert_allclose(other.params, fits[0].params, rtol=1e-10)
        np.testing.assert_allclose(other.cov_params("HC1"), fits[0].cov_params("HC1"), rtol=1e-8)
    # weight 0 equals deletion under autodiff too
    keep = w > 0
    sub = me.MEstimator(loss, {k: v[keep] for k, v in data.items()}, k_params=4,
                        weights=w[keep]).fit()
    np.testing.assert_allclose(sub.params, fits[0].params, rtol=1e-10)
    np.testing.assert_allclose(sub.bse, fits[0].bse, rtol=1e-10)


def test_zestimator_jacobian_by_autodiff_is_the_analytic_bread():
    y, X, off = _poisson_data(n=250, seed=9)

    def psi(p, d):
        return (np.exp(d["X"] @ p + d["off"]) - d["y"])[:, None] * d["X"]

    data = {"y": y, "X": X, "off": off}
    model = me.MEstimator(score=psi, data=data, k_params=4)
    assert model._score_autodiff
    res = model.fit(cov_type="HC0")
    mu = np.exp(X @ res.params.to_numpy() + off)
    np.testing.assert_allclose(res.bread(), (X * mu[:, None]).T @ X / len(y), rtol=1e-12)
    ref = sm.Poisson(y, X, offset=off).fit(disp=0, tol=1e-14, cov_type="HC0")
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-9)


def test_pandas_inputs_inside_the_loss():
    y, X, off = _poisson_data(n=200, seed=4)
    df = pd.DataFrame(X[:, 1:], columns=["a", "b", "c"]).assign(y=y)

    def loss(p, d):
        eta = p[0] + p[1] * d["a"] + p[2] * d["b"] + p[3] * d["c"]   # pandas Series × jet
        return np.exp(eta) - d["y"] * eta

    res = me.MEstimator(loss, df, param_names=["const", "a", "b", "c"]).fit()
    assert res.model.derivative_method == "autodiff"
    np.testing.assert_allclose(res.params, sm.Poisson(y, X).fit(disp=0, tol=1e-14).params,
                               rtol=1e-9)


def test_derivatives_option_errors():
    y, X, off = _poisson_data(n=50)

    def needs_plain(p, d):
        return np.exp(d["X"] @ np.asarray(p)) - d["y"] * (d["X"] @ np.asarray(p))

    def not_complex_safe(p, d):
        return np.logaddexp(0.0, d["X"] @ p) - d["y"] * (d["X"] @ p)

    data = {"y": (y > 0).astype(float), "X": X}
    with pytest.raises(MEstimateError, match="autodiff.*plain array"):
        me.MEstimator(needs_plain, data, k_params=4, derivatives="autodiff")
    assert me.MEstimator(needs_plain, data, k_params=4).derivative_method == "complex"
    with pytest.raises(MEstimateError, match="complex parameters"):
        me.MEstimator(not_complex_safe, data, k_params=4, derivatives="complex")
    with pytest.raises(MEstimateError, match="derivatives"):
        me.MEstimator(not_complex_safe, data, k_params=4, derivatives="exact")


def test_chunks_sized_by_the_jets_memory_give_the_one_chunk_hessian():
    """A loss with many categories holds an (n, m, k) gradient: the sums over observations are
    chunked by the measured bytes per row, and the result does not depend on the chunking."""
    rng = np.random.default_rng(2)
    n, m, p = 3000, 30, 3
    X = np.c_[np.ones(n), rng.normal(size=(n, p - 1))]
    Y = np.eye(m)[rng.integers(0, m, size=n)]

    def loss(t, d):
        e = np.column_stack([np.zeros(len(d["Y"])), d["X"] @ t.reshape(m - 1, p).T])
        return np.log(np.sum(np.exp(e), axis=1)) - np.sum(d["Y"] * e, axis=1)

    theta = rng.normal(size=(m - 1) * p) * 0.1
    auto = me.MEstimator(loss, {"Y": Y, "X": X}, k_params=(m - 1) * p)
    one = me.MEstimator(loss, {"Y": Y, "X": X}, k_params=(m - 1) * p, chunksize=n)
    assert auto.derivative_method == "autodiff"
    assert len(auto._reducer.slices(auto._jet_row_bytes)) > 1
    np.testing.assert_allclose(auto.hessian(theta), one.hessian(theta), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(auto.gradient(theta), one.gradient(theta), rtol=1e-12, atol=1e-15)


def test_a_supplied_hessian_is_used_with_an_autodiff_gradient():
    """loss + hessian= (no score): the gradient comes from autodiff, the curvature the optimiser
    and the bread use is the user's."""
    y, X, off = _poisson_data(n=300, seed=12)
    calls = []

    def loss(p, d):
        eta = d["X"] @ p + d["off"]
        return np.exp(eta) - d["y"] * eta

    def hess(p, d):
        calls.append(1)
        mu = np.exp(d["X"] @ p + d["off"])
        return (d["X"] * mu[:, None]).T @ d["X"] / len(mu)

    res = me.MEstimator(loss, {"y": y, "X": X, "off": off}, k_params=4, hessian=hess).fit()
    # the optimiser's Newton steps (several) and the bread (one) all used it
    assert res.model.derivative_method == "autodiff" and len(calls) >= 3
    ref = sm.Poisson(y, X, offset=off).fit(disp=0, tol=1e-14)
    np.testing.assert_allclose(res.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(res.bse, ref.bse, rtol=1e-9)
