"""Leave-one-out three ways, against R refits (lm, weighted lm, binomial and Poisson glm),
statsmodels refits and brute force."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings, strategies as st

import mestimate as me
from mestimate.exceptions import IdentificationError, InferenceWarning, MEstimateError

REF = Path(__file__).parent / "reference" / "influence"
STACK = "Q('stack.loss') ~ Q('Air.Flow') + Q('Water.Temp') + Q('Acid.Conc.')"
INFERT = "case ~ age + parity + induced + spontaneous"


def _ref_loo(frame):
    return frame[[c for c in frame.columns if c.startswith("loo.")]].to_numpy()


@pytest.fixture(scope="module")
def stack():
    return pd.read_csv(REF / "data_stackloss.csv")


@pytest.fixture(scope="module")
def infert():
    d = pd.read_csv(REF / "data_infert.csv")
    return me.Logit.from_formula(INFERT, d).fit(xtol=1e-14)


@pytest.mark.parametrize("method", ["newton", "exact"])
def test_lm_loo_equals_r_refits(stack, method):
    ref = _ref_loo(pd.read_csv(REF / "lm_stackloss.csv"))
    res = me.OLS.from_formula(STACK, stack).fit()
    got = res.loo_params(method).to_numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


def test_ij_is_only_first_order(stack):
    ref = _ref_loo(pd.read_csv(REF / "lm_stackloss.csv"))
    res = me.OLS.from_formula(STACK, stack).fit()
    theta = res.params.to_numpy()
    ij = res.loo_params("ij").to_numpy()
    # for OLS the IJ shift is the exact shift times (1 − h_t)
    h = res.leverage()
    np.testing.assert_allclose(ij - theta, (ref - theta) * (1 - h)[:, None], rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("method", ["newton", "exact"])
def test_weighted_lm_loo_equals_r(stack, method):
    ref = pd.read_csv(REF / "wlm_stackloss.csv")
    res = me.OLS.from_formula(STACK, stack, weights=ref["w"].to_numpy()).fit()
    np.testing.assert_allclose(res.loo_params(method).to_numpy(), _ref_loo(ref), rtol=1e-10,
                               atol=1e-10)


def test_glm_exact_loo_equals_r_refits(infert):
    ref = _ref_loo(pd.read_csv(REF / "glm_infert.csv"))
    ex = infert.loo_params("exact")
    assert ex.attrs["converged"].all()
    np.testing.assert_allclose(ex.to_numpy(), ref, rtol=1e-8, atol=1e-10)
    nw = infert.loo_params("newton").to_numpy()
    assert 1e-6 < np.max(np.abs(nw - ref)) < 0.1       # one Newton step is not exact for a GLM


def test_glm_exact_loo_equals_statsmodels_refits(infert):
    m = infert.model
    pts = [0, 50, 200]
    ex = infert.loo_params("exact", points=pts).to_numpy()
    for i, t in enumerate(pts):
        keep = np.arange(m.nobs) != t
        sm_fit = sm.Logit(m.endog[keep], m.exog[keep]).fit(disp=0, method="newton", tol=1e-14)
        np.testing.assert_allclose(ex[i], sm_fit.params, rtol=1e-8)


def test_newton_step_equals_statsmodels_glm_d_params(infert):
    m = infert.model
    glm = sm.GLM(m.endog, m.exog, family=sm.families.Binomial()).fit(tol=1e-14)
    d = infert.params.to_numpy() - infert.loo_params("newton").to_numpy()
    np.testing.assert_allclose(d, glm.get_influence().d_params, rtol=1e-7, atol=1e-12)


def test_poisson_leave_group_out_equals_r():
    wb = pd.read_csv(REF / "data_warpbreaks.csv")
    ref = pd.read_csv(REF / "glm_warpbreaks_groups.csv")
    formula = "breaks ~ wool + C(tension, levels=['L', 'M', 'H'])"     # R's level order
    res = me.Poisson.from_formula(formula, wb).fit(xtol=1e-14)
    np.testing.assert_allclose(res.params, pd.read_csv(REF / "glm_warpbreaks_coef.csv")["coef"],
                               rtol=1e-9)
    # a column name of the data or the array itself
    for groups in ("cell", wb["cell"].to_numpy()):
        ex = res.loo_params("exact", groups=groups)
        assert list(ex.index) == list(ref["cell"])
        np.testing.assert_allclose(ex.to_numpy(), _ref_loo(ref), rtol=1e-8, atol=1e-10)


def _logit_loss(p, d):
    eta = d["X"] @ p
    return np.log1p(np.exp(eta)) - d["y"] * eta


@pytest.mark.parametrize("method", ["ij", "newton", "exact"])
def test_generic_model_paths_match_index_model(infert, method):
    m = infert.model
    gen = me.MEstimator(_logit_loss, {"y": m.endog, "X": m.exog},
                        param_names=infert.param_names).fit(xtol=1e-14)
    pts = [3, 150]
    a = infert.loo_params(method, points=pts).to_numpy()
    b = gen.loo_params(method, points=pts).to_numpy()
    np.testing.assert_allclose(b, a, rtol=1e-6)
    g = np.arange(m.nobs) % 4
    a = infert.loo_params(method, groups=g).to_numpy()
    b = gen.loo_params(method, groups=g).to_numpy()
    np.testing.assert_allclose(b, a, rtol=1e-6)


def test_zestimator_newton_is_exact_for_linear_equations():
    # ψ_t = x_t (y_t − x_tᵀθ) written as estimating equations (not symmetric in general)
    rng = np.random.default_rng(2)
    X = np.c_[np.ones(30), rng.normal(size=30)]
    Z = np.c_[np.ones(30), X[:, 1] + rng.normal(size=30)]     # instruments: IV estimator
    y = X @ [1.0, 2.0] + rng.normal(size=30)
    psi = lambda p, d: d["Z"] * (d["y"] - d["X"] @ p)[:, None]  # noqa: E731
    res = me.MEstimator(None, {"y": y, "X": X, "Z": Z}, score=psi, k_params=2).fit()
    nw = res.loo_params("newton").to_numpy()
    brute = np.array([np.linalg.solve(np.delete(Z, t, 0).T @ np.delete(X, t, 0),
                                      np.delete(Z, t, 0).T @ np.delete(y, t)) for t in range(30)])
    np.testing.assert_allclose(nw, brute, rtol=1e-7)
    np.testing.assert_allclose(res.loo_params("exact", points=[0, 7]).to_numpy(), brute[[0, 7]],
                               rtol=1e-7)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), t=st.integers(0, 29))
def test_weight_zero_equals_deletion(seed, t):
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(30), rng.normal(size=(30, 2))]
    y = rng.poisson(np.exp(X @ [0.5, 0.3, -0.2])).astype(float)
    res = me.Poisson(y, X).fit(xtol=1e-14)
    ex = res.loo_params("exact", points=[t]).to_numpy()[0]
    keep = np.arange(30) != t
    direct = me.Poisson(y[keep], X[keep]).fit(xtol=1e-14).params.to_numpy()
    np.testing.assert_allclose(ex, direct, rtol=1e-8, atol=1e-10)


def test_points_and_zero_weights(stack):
    res = me.OLS.from_formula(STACK, stack).fit()
    a = res.loo_params("exact", points=[2, 5])
    assert list(a.index) == [2, 5]
    with pytest.raises(MEstimateError, match="not row labels"):
        res.loo_params("exact", points=[99])
    w = np.ones(len(stack))
    w[4] = 0.0
    rw = res.refit(weights=w)
    for method in ("ij", "newton", "exact"):
        np.testing.assert_allclose(rw.loo_params(method).iloc[4], rw.params, rtol=1e-12)


def test_unidentified_leave_out_is_reported():
    rng = np.random.default_rng(0)
    X = np.c_[np.ones(20), rng.normal(size=20), np.zeros(20)]
    X[6, 2] = 1.0                        # a dummy only observation 6 has
    y = X @ [1.0, 1.0, 3.0] + rng.normal(size=20)
    res = me.OLS(y, X).fit()
    with pytest.raises(IdentificationError, match=r"\[6\]"):
        res.loo_params("newton")
    with pytest.warns(InferenceWarning, match=r"\[6\]"):
        nw = res.loo_params("newton", on_singular="nan")
    assert nw.iloc[6].isna().all() and nw.drop(index=6).notna().all().all()
    with pytest.warns(InferenceWarning, match=r"refit failed .*\[6\]"):
        ex = res.loo_params("exact")
    assert not ex.attrs["converged"][6] and ex.attrs["converged"].sum() == 19
    np.testing.assert_allclose(ex.drop(index=6), nw.drop(index=6), rtol=1e-9)


def test_bad_method(infert):
    with pytest.raises(MEstimateError, match="'newton', 'ij', 'exact'"):
        infert.loo_params("jackknife")


def test_loo_accuracy(infert):
    acc = infert.loo_accuracy()
    tab = acc.table
    assert tab.loc["newton", "max_rel_error"] < tab.loc["ij", "max_rel_error"]
    assert tab.loc["newton", "median_rel_error"] < 0.05
    assert tab.loc["newton", "spearman"] > 0.99
    assert len(acc.worst) == 5 and acc.worst["newton"].iloc[0] == acc.errors["newton"].max()
    assert "Leave-one-out accuracy" in repr(acc)


def test_loo_accuracy_ols_newton_exact(stack):
    acc = me.OLS.from_formula(STACK, stack).fit().loo_accuracy()
    assert acc.table.loc["newton", "max_rel_error"] < 1e-8
    assert acc.table.loc["ij", "max_rel_error"] > 0.05


def test_exact_logit_separation_after_leaving_out_is_reported():
    x = np.array([-3.0, -2, -1.5, -1, 1, 1.5, 2, 3, 0.5, -0.5])
    y = np.array([0.0, 0, 0, 0, 1, 1, 1, 1, 0, 1])     # only rows 8 and 9 overlap
    res = me.Logit(y, np.c_[np.ones(10), x]).fit()
    with pytest.warns(InferenceWarning, match="refit failed"):
        ex = res.loo_params("exact")
    conv = ex.attrs["converged"]
    assert not conv[8] and not conv[9] and conv[:8].all()


def _poisson_offset_weights(seed=4, n=120):
    rng = np.random.default_rng(seed)
    X = np.c_[np.ones(n), rng.normal(size=(n, 2))]
    offset = rng.normal(scale=0.5, size=n)
    w = rng.uniform(0.5, 2.0, size=n)
    y = rng.poisson(np.exp(0.3 + X[:, 1:] @ [0.4, -0.3] + offset)).astype(float)
    return y, X, offset, w


def _sm_poisson(y, X, offset, w):
    return sm.GLM(y, X, family=sm.families.Poisson(), offset=offset,
                  freq_weights=w).fit(tol=1e-14).params


def test_exact_poisson_offset_weights_equals_statsmodels_refits():
    # the chord steps of the batched refits must add the offset and weigh every row
    y, X, offset, w = _poisson_offset_weights()
    res = me.Poisson(y, X, offset=offset, weights=w).fit(xtol=1e-14)
    pts = [0, 17, int(np.argmax(res.leverage()))]
    ex = res.loo_params("exact", points=pts)
    assert ex.attrs["converged"].all()
    for i, t in enumerate(pts):
        keep = np.arange(y.size) != t
        ref = _sm_poisson(y[keep], X[keep], offset[keep], w[keep])
        np.testing.assert_allclose(ex.to_numpy()[i], ref, rtol=1e-9, atol=1e-12)
    groups = np.arange(y.size) % 7
    exg = res.loo_params("exact", groups=groups, points=[2, 5])
    for i, g in enumerate([2, 5]):
        keep = groups != g
        ref = _sm_poisson(y[keep], X[keep], offset[keep], w[keep])
        np.testing.assert_allclose(exg.to_numpy()[i], ref, rtol=1e-9, atol=1e-12)


def test_exact_units_the_chord_steps_leave_go_to_newton(monkeypatch):
    # strong effects and a few far-out rows: leaving those out moves θ̂ so much that the
    # chord steps (Hessian frozen at θ̂) contract slowly and damped Newton takes over
    import mestimate._loo_exact as loo_mod

    rng = np.random.default_rng(5)
    n = 200
    X = np.c_[np.ones(n), rng.normal(size=(n, 3)) * [1.0, 3.0, 1.0]]
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ [0.5, 1.5, -1.0, 2.0]))).astype(float)
    res = me.Logit(y, X).fit(xtol=1e-14)
    sizes = []
    original = loo_mod._batched_newton

    def spy(res_, XX, iu, weigh, Theta, maxiter, xtol):
        sizes.append(Theta.shape[0])
        return original(res_, XX, iu, weigh, Theta, maxiter, xtol)

    monkeypatch.setattr(loo_mod, "_batched_newton", spy)
    ex = res.loo_params("exact")
    assert ex.attrs["converged"].all()
    assert 0 < sum(sizes) < n                 # both paths ran
    shift = np.abs(ex.to_numpy() - res.params.to_numpy()).max(axis=1)
    pts = np.r_[np.argsort(-shift)[:6], [0, 1]]  # the hardest units and two ordinary ones
    for t in pts:
        keep = np.arange(n) != t
        ref = sm.Logit(y[keep], X[keep]).fit(disp=0, method="newton", tol=1e-14).params
        np.testing.assert_allclose(ex.to_numpy()[t], ref, rtol=1e-9, atol=1e-12)


def test_returned_frames_do_not_share_memory_with_the_cache(infert):
    # influence and Newton-step LOO reuse cached X H⁻¹ and d1, d2 and the params' labels:
    # editing a returned frame must not change the next answer or the params
    first = infert.influence().to_numpy().copy()
    loo_first = infert.loo_params("newton").to_numpy().copy()
    for frame in (infert.influence(), infert.loo_params("newton")):
        frame.iloc[:, :] = 0.0
        frame.columns.name = "parameter"
        frame.index.name = "row"
    assert infert.params.index.name is None
    assert infert.influence().columns.name is None and infert.influence().index.name is None
    np.testing.assert_array_equal(infert.influence().to_numpy(), first)
    np.testing.assert_array_equal(infert.loo_params("newton").to_numpy(), loo_first)


def test_frames_of_unlabelled_data_have_a_default_row_index():
    # numpy input: rows are labelled 0..n−1 (the frames let pandas build its RangeIndex);
    # points= and groups= still find their units by those labels
    rng = np.random.default_rng(5)
    X = np.column_stack([np.ones(40), rng.normal(size=40)])
    y = (rng.uniform(size=40) < 0.5).astype(float)
    res = me.Logit(y, X).fit()
    for frame in (res.influence(), res.loo_params("newton"), res.loo_params("ij")):
        assert frame.index.equals(pd.RangeIndex(40)) and list(frame.columns) == ["const", "x1"]
    sub = res.loo_params("newton", points=[3, 7])
    assert list(sub.index) == [3, 7]
    np.testing.assert_array_equal(sub.to_numpy(), res.loo_params("newton").to_numpy()[[3, 7]])
    with pytest.raises(me.MEstimateError, match="not row labels"):
        res.loo_params("newton", points=[40])
