"""Autoregressive models: lagged design, layouts of many sequences, default covariance,
invariances (hypothesis), leave-one-sequence-out, bad input."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mestimate as me
from mestimate.exceptions import DataError, InferenceWarning, MEstimateError
from mestimate.sequence.count_ar import LogisticAR, PoissonAR
from mestimate.sequence.gaussian_ar import GaussianAR


def simulate_ar(n, phi=(0.5, -0.2), c=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros(n + 50)
    e = rng.normal(size=n + 50)
    for t in range(len(phi), n + 50):
        y[t] = c + sum(f * y[t - j - 1] for j, f in enumerate(phi)) + e[t]
    return y[50:]


def simulate_counts(n, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = rng.poisson(np.exp(0.6 + 0.4 * np.log1p(y[t - 1])))
    return y


def simulate_binary(n, seed=0):
    rng = np.random.default_rng(seed)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = rng.random() < (0.7 if y[t - 1] else 0.35)
    return y


SIMULATORS = {GaussianAR: lambda n, s: simulate_ar(n, seed=s),
              PoissonAR: simulate_counts, LogisticAR: simulate_binary}
MODELS = list(SIMULATORS)


def many(model_cls, m=12, seed=0, lengths=None):
    rng = np.random.default_rng(seed)
    lengths = lengths if lengths is not None else rng.integers(8, 30, size=m)
    return [SIMULATORS[model_cls](int(L), seed + 1 + i) for i, L in enumerate(lengths)]


def coef(res):
    return res.params.to_numpy()


# ----------------------------------------------------------------------------- design
def test_lagged_design_by_hand():
    m = GaussianAR({"a": [1.0, 2, 4, 7], "b": [10.0, 20, 30]}, lags=2, trend="ct",
                   exog={"a": [0.1, 0.2, 0.3, 0.4], "b": [1.0, 2.0, 3.0]})
    assert m.exog_names == ["const", "trend", "lag1", "lag2", "x1"]
    np.testing.assert_array_equal(m.exog, [[1, 3, 2, 1, 0.3], [1, 4, 4, 2, 0.4], [1, 3, 20, 10, 3.0]])
    np.testing.assert_array_equal(m.endog, [4.0, 7.0, 30.0])
    assert list(m.sequence_ids) == ["a", "a", "b"] and list(m.positions) == [2, 3, 2]
    assert m.n_sequences == 2 and m.nobs == 3
    assert m.sequence_lengths.to_dict() == {"a": 4, "b": 3}
    assert list(m._row_index) == [("a", 2), ("a", 3), ("b", 2)]


def test_single_series_keeps_its_index_as_row_labels():
    s = pd.Series(simulate_ar(30), index=pd.date_range("2000-01-01", periods=30, freq="MS"), name="gdp")
    res = GaussianAR(s, lags=2).fit(cov_type="HC0")
    infl = res.influence()
    assert infl.index[0] == s.index[2] and len(infl) == 28
    assert res.model.endog_name == "gdp"


@pytest.mark.parametrize("model_cls", MODELS)
def test_list_of_sequences_equals_stacked_lagged_design(model_cls):
    seqs = many(model_cls, m=6, seed=3)
    res = model_cls(seqs, lags=2).fit(cov_type="HC0")
    # stacked lagged design built here, independently, with the built-in GLM/OLS models
    rows = [(s[t], 1.0, f(s[t - 1]), f(s[t - 2])) for s in seqs for t in range(2, len(s))
            for f in [np.log1p if model_cls is PoissonAR else (lambda v: v)]]
    Y = np.array([r[0] for r in rows])
    X = np.array([r[1:] for r in rows])
    base = {GaussianAR: me.OLS, PoissonAR: me.Poisson, LogisticAR: me.Logit}[model_cls]
    ref = base(Y, X).fit(cov_type="HC0")
    k = X.shape[1]
    np.testing.assert_allclose(coef(res)[:k], coef(ref), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(res.model.exog, X, rtol=0, atol=0)
    if model_cls is not GaussianAR:   # same loss: same sandwich
        np.testing.assert_allclose(res.cov_params().to_numpy(), ref.cov_params().to_numpy(), rtol=1e-8)


def test_layouts_list_dict_and_groups_agree():
    seqs = many(GaussianAR, m=4, seed=5)
    names = ["w", "x", "y", "z"]
    r_list = GaussianAR(seqs, lags=1).fit(cov_type="HC0")
    r_dict = GaussianAR(dict(zip(names, seqs)), lags=1).fit(cov_type="HC0")
    # one long series with a group column, rows interleaved (sequences by first appearance)
    long = pd.DataFrame({"y": np.concatenate(seqs),
                         "g": np.repeat(names, [len(s) for s in seqs]),
                         "pos": np.concatenate([np.arange(len(s)) for s in seqs])})
    shuffled = long.sort_values(["pos", "g"], kind="stable")
    r_grp = GaussianAR(shuffled["y"], lags=1, groups=shuffled["g"]).fit(cov_type="HC0")
    for r in (r_dict, r_grp):
        np.testing.assert_allclose(coef(r), coef(r_list), rtol=1e-12)
        np.testing.assert_allclose(r.cov_params(), r_list.cov_params(), rtol=1e-10)
    assert list(r_dict.model.sequence_names) == names


# ------------------------------------------------------------------ default covariance
def test_default_cov_single_sequence_is_newey_west_hac():
    y = simulate_ar(300, seed=2)
    res = GaussianAR(y, lags=2).fit()
    assert res.cov_type == "HAC"
    expected = res.cov_params("HAC", maxlags=None, kernel="bartlett", prewhite=False)
    np.testing.assert_allclose(res.cov_params(), expected, rtol=1e-14)
    assert not np.allclose(res.cov_params(), res.cov_params("HC0"), rtol=1e-3)


@pytest.mark.parametrize("model_cls", MODELS)
def test_default_cov_many_sequences_is_cluster_by_sequence(model_cls):
    seqs = many(model_cls, m=15, seed=7)
    res = model_cls(seqs, lags=1).fit()
    assert res.cov_type == "cluster"
    assert res.cov_info().n_groups == 15
    by_ids = res.cov_params("cluster", groups=np.asarray(res.model.sequence_ids))
    np.testing.assert_allclose(res.cov_params(), by_ids, rtol=1e-14)
    assert "sequence" in res.cov_info().description


def test_default_cluster_with_few_sequences_warns():
    with pytest.warns(InferenceWarning, match="only 3 sequences"):
        GaussianAR(many(GaussianAR, m=3), lags=1).fit()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianAR(many(GaussianAR, m=3), lags=1).fit(cov_type="HC0")   # explicit: no warning


def test_explicit_hac_on_many_sequences_is_within_sequences():
    seqs = many(GaussianAR, m=5, seed=1, lengths=[40] * 5)
    model = GaussianAR(seqs, lags=1)
    with pytest.raises(MEstimateError, match="maxlags"):
        model.fit(cov_type="HAC")
    res = model.fit(cov_type="HAC", cov_kwds={"maxlags": 2})
    within = res.cov_params("HAC", maxlags=2, groups=np.asarray(model.sequence_ids))
    np.testing.assert_allclose(res.cov_params(), within, rtol=1e-14)
    across = res.cov_params("HAC", maxlags=2, groups=np.zeros(res.nobs))
    assert not np.allclose(res.cov_params(), across, rtol=1e-6)


def test_user_story_long_run_multiplier():
    y = simulate_ar(400, seed=0)
    res = GaussianAR(y, lags=2).fit(cov_type="HAC", cov_kwds={"maxlags": None})
    d = res.delta_method(lambda p: p["lag1"] / (1 - p["lag1"] - p["lag2"]))
    a, b = res.params["lag1"], res.params["lag2"]
    val = a / (1 - a - b)
    J = np.array([0.0, (1 - b) / (1 - a - b) ** 2, a / (1 - a - b) ** 2, 0.0])
    se = np.sqrt(J @ res.cov_params().to_numpy() @ J)
    np.testing.assert_allclose(d.values[0], val, rtol=1e-12)
    np.testing.assert_allclose(d.bse.iloc[0], se, rtol=1e-7)


# --------------------------------------------------------------------- invariances
@settings(max_examples=15, deadline=None)
@given(perm_seed=st.integers(0, 10_000), model_idx=st.integers(0, 2))
def test_permuting_sequences_changes_nothing(perm_seed, model_idx):
    model_cls = MODELS[model_idx]
    seqs = many(model_cls, m=12, seed=11)
    names = [f"s{i}" for i in range(len(seqs))]
    perm = np.random.default_rng(perm_seed).permutation(len(seqs))
    r0 = model_cls(dict(zip(names, seqs)), lags=2).fit()
    r1 = model_cls({names[i]: seqs[i] for i in perm}, lags=2).fit()
    np.testing.assert_allclose(coef(r1), coef(r0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r1.cov_params(), r0.cov_params(), rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(r1.loss, r0.loss, rtol=1e-12)


@settings(max_examples=15, deadline=None)
@given(drop=st.integers(0, 7), model_idx=st.integers(0, 2))
def test_zero_weight_on_a_sequence_equals_dropping_it(drop, model_idx):
    model_cls = MODELS[model_idx]
    seqs = many(model_cls, m=8, seed=21)
    full = model_cls(seqs, lags=1)
    w = (full.sequence_ids != drop).astype(float)
    r_w = model_cls(seqs, lags=1, weights=w).fit(cov_type="HC0")
    r_d = model_cls([s for i, s in enumerate(seqs) if i != drop], lags=1).fit(cov_type="HC0")
    assert r_w.nobs == r_d.nobs
    np.testing.assert_allclose(coef(r_w), coef(r_d), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(r_w.bread(), r_d.bread(), rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(r_w.cov_params(), r_d.cov_params(), rtol=1e-7, atol=1e-14)


@settings(max_examples=10, deadline=None)
@given(shift=st.floats(-50, 50), scale=st.floats(0.1, 10))
def test_gaussian_ar_affine_equivariance(shift, scale):
    """x -> a + b x: lag coefficients unchanged, const -> a(1 - Σφ) + b c, σ² -> b² σ²."""
    y = simulate_ar(120, seed=4)
    r0 = GaussianAR(y, lags=2).fit(cov_type="HC0")
    r1 = GaussianAR(shift + scale * y, lags=2).fit(cov_type="HC0")
    c, f1, f2, s = coef(r0)
    np.testing.assert_allclose(coef(r1)[1:3], [f1, f2], rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(coef(r1)[0], shift * (1 - f1 - f2) + scale * c, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(coef(r1)[3], s + 2 * np.log(scale), rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------ leave sequences out
def test_leave_one_sequence_out_equals_refit_without_it():
    seqs = many(PoissonAR, m=10, seed=2)
    res = PoissonAR(seqs, lags=1).fit()
    loo = res.loo_params("exact", groups="sequence")
    for g in (0, 7):
        ref = PoissonAR([s for i, s in enumerate(seqs) if i != g], lags=1).fit(cov_type="HC0")
        np.testing.assert_allclose(loo.loc[g].to_numpy(), coef(ref), rtol=1e-7, atol=1e-10)


def test_data_column_names():
    d = pd.DataFrame({"y": simulate_ar(40), "x": np.arange(40.0), "firm": np.repeat(["a", "b"], 20)})
    m = GaussianAR.from_formula("y ~ x", d, lags=2, groups="firm")
    np.testing.assert_array_equal(m.data_column("sequence"), np.repeat(["a", "b"], 18))
    np.testing.assert_array_equal(m.data_column("position"), np.tile(np.arange(2, 20), 2))
    np.testing.assert_array_equal(m.data_column("x"), np.r_[np.arange(2, 20), np.arange(22, 40)])
    np.testing.assert_array_equal(m.data_column("lag1"), m.exog[:, 1])
    with pytest.raises(DataError, match="'sequence', 'position'"):
        m.data_column("nope")


# ---------------------------------------------------------------------- formulas
def test_formula_means_lags_of_y_plus_exog():
    rng = np.random.default_rng(0)
    d = pd.DataFrame({"y": simulate_ar(80), "x": rng.normal(size=80)})
    rf = GaussianAR.from_formula("y ~ x", d, lags=2).fit(cov_type="HC0")
    ra = GaussianAR(d["y"], lags=2, exog=d[["x"]]).fit(cov_type="HC0")
    assert rf.param_names == ["const", "lag1", "lag2", "x", "log_sigma2"]
    np.testing.assert_allclose(coef(rf), coef(ra), rtol=1e-12)
    r0 = GaussianAR.from_formula("y ~ x - 1", d, lags=1).fit(cov_type="HC0")
    assert r0.param_names == ["lag1", "x", "log_sigma2"]
    r1 = GaussianAR.from_formula("y ~ 1", d, lags=1, trend="ct").fit(cov_type="HC0")
    assert r1.param_names == ["const", "trend", "lag1", "log_sigma2"]
    with pytest.raises(DataError, match="contradicts"):
        GaussianAR.from_formula("y ~ x - 1", d, lags=1, trend="c")
    d.loc[5, "y"] = np.nan
    with pytest.raises(DataError, match="missing"):
        GaussianAR.from_formula("y ~ x", d, lags=1)


# ------------------------------------------------------------------- derivatives
@pytest.mark.parametrize("model_cls", MODELS)
def test_analytic_derivatives_and_closed_form_hessian(model_cls):
    seqs = many(model_cls, m=5, seed=9)
    w = np.random.default_rng(0).uniform(0, 2, size=sum(len(s) - 2 for s in seqs))
    m = model_cls(seqs, lags=2, weights=w)
    res = m.fit(cov_type="HC0")
    p = coef(res) + 0.05
    assert all(c.ok for c in m.check_derivatives(p))
    Hobs = m.hessian_obs(p)
    np.testing.assert_allclose(m.hessian(p), np.tensordot(w, Hobs, axes=(0, 0)) / m.nobs,
                               rtol=1e-12, atol=1e-14)
    assert np.max(np.abs(m.gradient(coef(res)))) < 1e-8


# --------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    ({"lags": 0}, "lags must be an integer >= 1"),
    ({"lags": 1.5}, "lags must be an integer >= 1"),
    ({"lags": True}, "lags must be an integer >= 1"),
    ({"lags": 1, "trend": "quadratic"}, "unknown trend 'quadratic'"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(MEstimateError, match=match):
        GaussianAR(simulate_ar(20), **kwargs)


def test_short_sequences_are_named():
    with pytest.raises(DataError, match=r"2 sequence\(s\).*'b' \(length 2\), 'c' \(length 1\)"):
        GaussianAR({"a": simulate_ar(10), "b": [1.0, 2.0], "c": [3.0]}, lags=2)


def test_nan_is_located():
    y = simulate_ar(20)
    y[7] = np.nan
    with pytest.raises(DataError, match="sequence 'q' position 7"):
        GaussianAR({"p": simulate_ar(10), "q": y}, lags=1)


def test_other_bad_data():
    with pytest.raises(DataError, match="exog has 19 rows"):
        GaussianAR(simulate_ar(20), lags=1, exog=np.ones(19))
    with pytest.raises(DataError, match="non-negative"):
        PoissonAR([1.0, 2.0, -1.0, 3.0], lags=1)     # a conditioning item is checked too
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        LogisticAR([0.0, 1.0, 2.0, 1.0], lags=1)
    with pytest.raises(DataError, match="groups has 3 labels"):
        GaussianAR(simulate_ar(20), lags=1, groups=[1, 1, 2])
    with pytest.raises(DataError, match="clash"):
        GaussianAR(simulate_ar(20), lags=1, exog=pd.DataFrame({"lag1": np.ones(20)}))
    with pytest.raises(DataError, match="1-d array"):
        GaussianAR(np.ones((5, 5)), lags=1)
    with pytest.raises(MEstimateError, match="cov_kwds were given without cov_type"):
        GaussianAR(simulate_ar(20), lags=1).fit(cov_kwds={"maxlags": 2})


def test_logistic_ar_separation_is_an_error():
    with pytest.raises(me.PerfectSeparationError, match="separation"):
        LogisticAR([0.0, 0, 0, 1, 1, 1, 1, 1], lags=1).fit()   # state 1 is never left


def test_poisson_ar_offset_shifts_the_constant_only():
    y = simulate_counts(60, seed=3)
    r0 = PoissonAR(y, lags=1).fit(cov_type="nonrobust")
    r1 = PoissonAR(y, lags=1, offset=np.full(59, 0.5)).fit(cov_type="nonrobust")
    np.testing.assert_allclose(coef(r1), coef(r0) - [0.5, 0.0], rtol=1e-8, atol=1e-10)


def test_exog_shaped_like_y():
    seqs = many(GaussianAR, m=3, seed=8)
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(len(s), 2)) for s in seqs]
    r_list = GaussianAR(seqs, lags=1, exog=xs).fit(cov_type="HC0")
    r_flat = GaussianAR(seqs, lags=1, exog=np.concatenate(xs)).fit(cov_type="HC0")
    r_dict = GaussianAR(dict(enumerate(seqs)), lags=1, exog=dict(enumerate(xs))).fit(cov_type="HC0")
    assert r_list.param_names == ["const", "lag1", "x1", "x2", "log_sigma2"]
    np.testing.assert_allclose(coef(r_flat), coef(r_list), rtol=1e-12)
    np.testing.assert_allclose(coef(r_dict), coef(r_list), rtol=1e-12)
    np.testing.assert_array_equal(r_list.model.exog[:, 2:], np.concatenate([x[1:] for x in xs]))


def test_predict_takes_lagged_design_rows():
    d = pd.DataFrame({"y": simulate_ar(50), "x": np.linspace(0, 1, 50)})
    res = GaussianAR.from_formula("y ~ x", d, lags=2).fit(cov_type="HC0")
    b = coef(res)[:-1]
    np.testing.assert_allclose(res.fittedvalues, res.model.exog @ b, rtol=1e-14)
    np.testing.assert_allclose(res.resid, res.model.endog - res.model.exog @ b, rtol=1e-14)
    np.testing.assert_allclose(res.predict(np.array([1.0, 0.5, 0.2, 0.3])), [b @ [1, 0.5, 0.2, 0.3]])
    with pytest.raises(DataError, match="lagged design"):
        res.predict(d)
    with pytest.raises(DataError, match="4 columns"):
        res.predict(np.ones(3))
    rp = PoissonAR(simulate_counts(40), lags=1).fit(cov_type="HC0")
    np.testing.assert_allclose(rp.fittedvalues, np.exp(rp.model.exog @ coef(rp)), rtol=1e-13)


def test_hac_requested_after_fit_is_within_sequences():
    from mestimate.sequence.gaussian_ar import GaussianAR

    rng = np.random.default_rng(11)
    seqs = [rng.normal(size=40) for _ in range(15)]
    res = GaussianAR(seqs, lags=1).fit()
    later = res.cov_params("HAC", maxlags=2)
    explicit = res.cov_params("HAC", maxlags=2, groups="sequence")
    np.testing.assert_array_equal(later.to_numpy(), explicit.to_numpy())
    with pytest.raises(me.MEstimateError, match="within sequences"):
        res.cov_params("HAC")
