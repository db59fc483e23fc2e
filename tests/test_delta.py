"""Tests of mestimate.delta against R (car::deltaMethod), statsmodels and invariances.

Reference numbers live in tests/reference/delta/ with the R script that made them.
"""
from __future__ import annotations

import dataclasses
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose
from scipy import stats

from mestimate.delta import DeltaMethodResults, WaldTestResults, delta_method
from mestimate.derivatives import jacobian
from mestimate.exceptions import InferenceWarning, MEstimateError

REF = json.loads((Path(__file__).parent / "reference" / "delta" / "delta_reference.json")
                 .read_text())
CASES = REF["cases"]
RTOL = 1e-8


def _case_inputs(case):
    names = case["param_names"]
    params = pd.Series(case["params"], index=names)
    cov = pd.DataFrame(np.array(case["vcov"]), index=names, columns=names)
    return params, cov


def _case_id(case):
    return f"{case['model']}-{case['vcov_type']}"


def _rel_cov_error(a, b):
    """Entrywise error scaled by sqrt(C_ii C_jj) (the correlation scale)."""
    s = np.sqrt(np.outer(np.diag(b), np.diag(b)))
    return np.max(np.abs(a - b) / s)


# --------------------------------------------------------------------------- R: car

@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_scalar_functions_match_car_deltamethod(case):
    params, cov = _case_inputs(case)
    for f in case["functions"]:
        res = delta_method(f["py"], params, cov, cov_type=case["vcov_type"])
        name = res.names[0]
        assert name == f["py"]
        assert_allclose(res.params[name], f["estimate"], rtol=RTOL)
        assert_allclose(res.bse[name], f["se"], rtol=RTOL)
        assert_allclose(res.tvalues[name], f["z"], rtol=RTOL)
        assert_allclose(res.pvalues[name], f["p"], rtol=RTOL)
        ci = res.conf_int().loc[name]
        assert_allclose([ci["lower"], ci["upper"]], [f["lower"], f["upper"]], rtol=RTOL)
        ci90 = res.conf_int(alpha=0.10).loc[name]
        assert_allclose([ci90["lower"], ci90["upper"]], [f["lower90"], f["upper90"]], rtol=RTOL)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_vector_function_matches_analytic_jacobian_from_r(case):
    params, cov = _case_inputs(case)
    exprs = [f["py"] for f in case["functions"]]
    res = delta_method(exprs, params, cov.to_numpy())
    vec = case["vector"]
    assert list(res.names) == exprs
    assert_allclose(res.params.to_numpy(), vec["estimate"], rtol=RTOL)
    j_ref = np.array(vec["jacobian"])
    assert np.max(np.abs(res.jacobian.to_numpy() - j_ref)) <= RTOL * np.max(np.abs(j_ref))
    assert _rel_cov_error(res.cov_params().to_numpy(), np.array(vec["cov"])) <= RTOL
    # the same functions as one comma-separated string give the same numbers
    res2 = delta_method(", ".join(exprs), params, cov)
    assert_allclose(res2.cov_params().to_numpy(), res.cov_params().to_numpy(), rtol=1e-14)


def test_callable_with_named_series_matches_car():
    case = CASES[0]  # lm on mtcars, vcov()
    params, cov = _case_inputs(case)
    res = delta_method(lambda p: p["hp"] / p["wt"], params, cov)
    ref = case["functions"][0]
    assert res.jac_method == "complex step"
    assert_allclose([res.params.iloc[0], res.bse.iloc[0]], [ref["estimate"], ref["se"]], rtol=RTOL)


# --------------------------------------------------------------------------- statsmodels

@pytest.fixture(scope="module")
def spector_logit():
    import statsmodels.api as sm

    data = sm.datasets.spector.load_pandas()
    exog = sm.add_constant(data.exog, prepend=True)
    fit = sm.Logit(data.endog, exog).fit(disp=0)
    return fit.params, fit.cov_params()


def test_matches_statsmodels_nonlinear_delta_cov(spector_logit):
    from statsmodels.stats._delta_method import NonlinearDeltaCov

    params, cov = spector_logit

    def fun(b):
        return np.array([np.exp(b[1]), b[2] / b[3], np.log(b[1] ** 2 + b[3] ** 2)])

    def grad(b):
        s = b[1] ** 2 + b[3] ** 2
        return np.array([[0, np.exp(b[1]), 0, 0],
                         [0, 0, 1 / b[3], -b[2] / b[3] ** 2],
                         [0, 2 * b[1] / s, 0, 2 * b[3] / s]])

    nl = NonlinearDeltaCov(fun, params.to_numpy(), cov.to_numpy(), deriv=grad)
    res = delta_method(lambda p: fun(p.to_numpy()), params, cov)
    assert_allclose(res.params.to_numpy(), nl.predicted(), rtol=1e-14)
    assert _rel_cov_error(res.cov_params().to_numpy(), nl.cov()) < 1e-9
    assert_allclose(res.bse.to_numpy(), nl.se_vectorized(), rtol=1e-9)
    assert_allclose(res.conf_int().to_numpy(), nl.conf_int(), rtol=1e-9)
    stat, pval = nl.wald_test(np.zeros(3))
    wt = res.wald_test()
    assert_allclose([wt.statistic, wt.pvalue], [stat, pval], rtol=1e-8)
    # with the same analytic Jacobian the numbers agree to rounding
    res_a = delta_method(lambda p: fun(p.to_numpy()), params, cov,
                         jac=lambda p: grad(p.to_numpy()))
    assert res_a.jac_method == "analytic"
    assert _rel_cov_error(res_a.cov_params().to_numpy(), nl.cov()) < 1e-13
    # and with statsmodels' own numerical derivative
    nl_num = NonlinearDeltaCov(fun, params.to_numpy(), cov.to_numpy())
    assert_allclose(res.bse.to_numpy(), nl_num.se_vectorized(), rtol=1e-8)


# --------------------------------------------------------------------------- results object

@pytest.fixture
def simple():
    params = pd.Series([0.5, 0.2, 1.5], index=["lag1", "lag2", "c"])
    cov = np.array([[0.010, 0.002, 0.001], [0.002, 0.020, 0.000], [0.001, 0.000, 0.300]])
    return params, cov


def test_results_api_and_normal_inference(simple):
    params, cov = simple
    res = delta_method("lag1/(1 - lag1 - lag2), exp(c)", params, cov, cov_type="HAC")
    assert isinstance(res, DeltaMethodResults)
    # analytic J by hand
    a, b = 0.5, 0.2
    d = 1 - a - b
    j = np.array([[(1 - b) / d**2, a / d**2, 0.0], [0.0, 0.0, math.exp(1.5)]])
    assert_allclose(res.jacobian.to_numpy(), j, rtol=1e-13)
    assert_allclose(res.cov_params().to_numpy(), j @ cov @ j.T, rtol=1e-13)
    se = np.sqrt(np.diag(j @ cov @ j.T))
    assert_allclose(res.bse.to_numpy(), se, rtol=1e-13)
    z = res.params.to_numpy() / se
    assert_allclose(res.pvalues.to_numpy(), 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)
    frame = res.summary_frame()
    assert list(frame.columns) == ["coef", "std err", "z", "P>|z|", "[0.025", "0.975]"]
    assert list(frame.index) == ["lag1/(1 - lag1 - lag2)", "exp(c)"]
    assert_allclose(frame[["[0.025", "0.975]"]].to_numpy(), res.conf_int().to_numpy())
    assert list(res.jacobian.columns) == ["lag1", "lag2", "c"]
    text = str(res.summary())
    assert "covariance: HAC" in text and "complex step" in text
    assert "DeltaMethodResults" in repr(res) and "exp(c)" in repr(res)


def test_t_inference_and_f_test(simple):
    params, cov = simple
    res = delta_method(["lag1", "lag2"], params, cov, df=12)
    frame = res.summary_frame(alpha=0.1)
    assert list(frame.columns) == ["coef", "std err", "t", "P>|t|", "[0.05", "0.95]"]
    se = np.sqrt([0.01, 0.02])
    q = stats.t.ppf(0.95, 12)
    assert_allclose(frame["[0.05"].to_numpy(), [0.5, 0.2] - q * se, rtol=1e-13)
    assert_allclose(res.pvalues.to_numpy(), 2 * stats.t.sf([0.5, 0.2] / se, 12), rtol=1e-12)
    wt = res.wald_test()
    d = np.array([0.5, 0.2])
    w = d @ np.linalg.solve(cov[:2, :2], d)
    assert wt.distribution == "F" and wt.df_num == 2 and wt.df_denom == 12
    assert_allclose(wt.statistic, w / 2, rtol=1e-13)
    assert_allclose(wt.pvalue, stats.f.sf(w / 2, 2, 12), rtol=1e-12)
    assert "F" in str(wt)


def test_wald_chi2_with_value(simple):
    params, cov = simple
    res = delta_method(["lag1", "lag2 + c"], params, cov)
    wt = res.wald_test(value=[0.4, 1.0])
    a = np.array([[1, 0, 0], [0, 1, 1.0]])
    d = np.array([0.1, 0.7])
    w = d @ np.linalg.solve(a @ cov @ a.T, d)
    assert isinstance(wt, WaldTestResults) and wt.distribution == "chi2" and wt.df_num == 2
    assert_allclose([wt.statistic, wt.pvalue], [w, stats.chi2.sf(w, 2)], rtol=1e-12)


def test_wald_singular_uses_rank_and_warns(simple):
    params, cov = simple
    res = delta_method("lag1, 2*lag1, lag2", params, cov)
    with pytest.warns(InferenceWarning, match="rank 2 of 3"):
        wt = res.wald_test()
    d = np.array([0.5, 0.2])
    w = d @ np.linalg.solve(cov[:2, :2], d)  # the redundant row adds nothing
    assert wt.df_num == 2
    assert_allclose(wt.statistic, w, rtol=1e-9)


def test_results_are_immutable(simple):
    params, cov = simple
    res = delta_method("lag1", params, cov)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.df = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.values[0] = 1.0
    p = res.params
    p.iloc[0] = 99.0  # a copy: the results do not change
    assert res.params.iloc[0] == 0.5


def test_cov_dataframe_is_aligned_by_name(simple):
    params, cov = simple
    names = list(params.index)
    df = pd.DataFrame(cov, index=names, columns=names).iloc[::-1, ::-1]
    a = delta_method("lag1/lag2", params, df)
    b = delta_method("lag1/lag2", params, cov)
    assert_allclose(a.bse.to_numpy(), b.bse.to_numpy(), rtol=1e-15)


def test_labels_from_series_and_names(simple):
    params, cov = simple
    res = delta_method(lambda p: pd.Series({"sum": p["lag1"] + p["lag2"], "c2": p["c"] ** 2}),
                       params, cov)
    assert list(res.names) == ["sum", "c2"]
    res = delta_method(lambda p: p["lag1"] * p["c"], params, cov)
    assert res.names == ("phi",)
    res = delta_method("lag1, c", params, cov, names=["a", "b"])
    assert res.names == ("a", "b")


def test_analytic_jacobian_forms(simple):
    params, cov = simple
    num = delta_method("lag1 * c", params, cov)
    for jac in (np.array([1.5, 0.0, 0.5]), lambda p: np.array([[p["c"], 0.0, p["lag1"]]])):
        res = delta_method("lag1 * c", params, cov, jac=jac)
        assert res.jac_method == "analytic"
        assert_allclose(res.bse.to_numpy(), num.bse.to_numpy(), rtol=1e-14)


def test_non_complex_safe_callable_falls_back_to_central_differences(simple):
    params, cov = simple
    res = delta_method(lambda p: math.exp(p["lag1"]) * p["c"], params, cov)
    assert res.jac_method == "central differences"
    assert_allclose(res.jacobian.to_numpy(), [[math.exp(0.5) * 1.5, 0, math.exp(0.5)]],
                    rtol=1e-8, atol=1e-12)
    res = delta_method("abs(lag1 - 1)", params, cov)
    assert res.jac_method == "central differences"
    assert_allclose(res.jacobian.to_numpy(), [[-1.0, 0, 0]], atol=1e-9)


def test_zero_standard_error_warns(simple):
    params, cov = simple
    with pytest.warns(InferenceWarning, match="zero standard error"):
        delta_method("lag1 - lag1 + 2", params, cov)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("phi, match", [
    (lambda p: np.log(p["lag1"] - 1.0), "finite"),
    (lambda p: np.ones((2, 2)) * p["lag1"], "1-d"),
    (lambda p: np.ones(3 if p["lag1"] == 0.5 else 2) * p["lag1"], "shape"),
    (lambda p: "x", "numbers"),
    (42, "phi must be"),
    ("lag1 / nope", "unknown parameter name"),
    ("sqrt(lag1 - 0.5)", "Jacobian.*not finite"),
])
def test_bad_phi_raises(simple, phi, match):
    params, cov = simple
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(MEstimateError, match=match):
            delta_method(phi, params, cov)


@pytest.mark.parametrize("kwargs, match", [
    ({"jac": np.ones((2, 3))}, r"shape \(1, 3\)"),
    ({"jac": lambda p: np.ones(2)}, r"shape \(1, 3\)"),
    ({"names": ["a", "b"]}, "names has 2 labels"),
    ({"alpha": 1.5}, "alpha"),
    ({"df": -1}, "df must be"),
    ({"jac_method": "forward"}, "jac_method"),
])
def test_bad_options_raise(simple, kwargs, match):
    params, cov = simple
    with pytest.raises(MEstimateError, match=match):
        delta_method("lag1", params, cov, **kwargs)


def test_bad_cov_raises(simple):
    params, cov = simple
    with pytest.raises(MEstimateError, match="3x3"):
        delta_method("lag1", params, cov[:2, :2])
    with pytest.raises(MEstimateError, match="symmetric"):
        delta_method("lag1", params, cov + np.triu(np.ones((3, 3)), 1))
    with pytest.raises(MEstimateError, match="parameter names"):
        delta_method("lag1", params, pd.DataFrame(cov, index=list("abc"), columns=list("abc")))
    with pytest.raises(MEstimateError, match="non-finite"):
        delta_method("lag1", params.replace(0.5, np.nan), cov)


# --------------------------------------------------------------------------- properties

finite = st.floats(-3.0, 3.0, allow_nan=False)
scale = st.floats(0.05, 2.0)


@st.composite
def param_cov(draw, k=3):
    theta = np.array([draw(finite) for _ in range(k)])
    a = np.array([[draw(st.floats(-1, 1)) for _ in range(k)] for _ in range(k)])
    cov = a @ a.T + np.diag([draw(scale) for _ in range(k)])
    return pd.Series(theta, index=[f"b{j}" for j in range(k)]), cov


@settings(max_examples=40, deadline=None)
@given(param_cov(), st.floats(-5, 5).filter(lambda x: abs(x) > 1e-3), finite,
       st.integers(0, 2))
def test_affine_function_scales_standard_error(pc, a, c, j):
    params, cov = pc
    res = delta_method(f"{a!r} * b{j} + {c!r}", params, cov)
    assert_allclose(res.bse.iloc[0], abs(a) * math.sqrt(cov[j, j]), rtol=1e-12)
    assert_allclose(res.params.iloc[0], a * params.iloc[j] + c, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(param_cov(), st.integers(0, 2))
def test_exp_multiplies_standard_error(pc, j):
    params, cov = pc
    res = delta_method(f"exp(b{j})", params, cov)
    assert_allclose(res.bse.iloc[0], math.exp(params.iloc[j]) * math.sqrt(cov[j, j]), rtol=1e-12)
    # the interval is not the exponentiated interval: it is symmetric around exp(b)
    ci = res.conf_int().iloc[0]
    assert_allclose(ci["upper"] + ci["lower"], 2 * res.params.iloc[0], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(param_cov(), st.lists(st.lists(st.integers(-3, 3), min_size=3, max_size=3),
                             min_size=1, max_size=4))
def test_linear_vector_function_gives_a_v_a_transpose(pc, rows):
    params, cov = pc
    a = np.array(rows, dtype=float)
    exprs = [" + ".join(f"({int(v)})*b{j}" for j, v in enumerate(r)) for r in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)  # all-zero rows
        res = delta_method(exprs, params, cov)
    assert_allclose(res.jacobian.to_numpy(), a, atol=1e-15)
    assert_allclose(res.cov_params().to_numpy(), a @ cov @ a.T, rtol=1e-12, atol=1e-13)
    assert_allclose(res.params.to_numpy(), a @ params.to_numpy(), rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(param_cov())
def test_string_and_callable_agree_exactly(pc):
    params, cov = pc
    s = delta_method("b0 * exp(b1) / (1 + b2**2), tanh(b0 - b2)", params, cov)
    c = delta_method(lambda p: [p["b0"] * np.exp(p["b1"]) / (1 + p["b2"] ** 2),
                                np.tanh(p["b0"] - p["b2"])], params, cov)
    assert s.jac_method == c.jac_method == "complex step"
    assert_allclose(c.params.to_numpy(), s.params.to_numpy(), rtol=1e-15)
    assert_allclose(c.cov_params().to_numpy(), s.cov_params().to_numpy(), rtol=1e-14)


@settings(max_examples=30, deadline=None)
@given(param_cov())
def test_complex_step_and_central_differences_agree(pc):
    params, cov = pc
    phi = "b0 * exp(b1 / 2) + log1p(b2**2), expit(b0 * b1) * cos(b2)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)  # J row is zero at b = 0
        cs = delta_method(phi, params, cov, jac_method="complex")
        cd = delta_method(phi, params, cov, jac_method="central")
    assert cs.jac_method == "complex step" and cd.jac_method == "central differences"
    j_cs, j_cd = cs.jacobian.to_numpy(), cd.jacobian.to_numpy()
    assert np.max(np.abs(j_cs - j_cd)) <= 1e-7 * max(1.0, np.max(np.abs(j_cs)))
    # and the complex step matches mestimate.derivatives.jacobian directly
    from mestimate._expr import compile_expression
    f = compile_expression(phi, list(params.index))
    assert_allclose(j_cs, jacobian(f, params.to_numpy(), method="complex"), rtol=1e-15)


def test_array_params_get_default_names():
    res = delta_method("x0 * x1", np.array([1.0, 2.0]), np.diag([0.1, 0.2]), names="prod")
    assert res.param_names == ("x0", "x1") and res.names == ("prod",)
    assert_allclose(res.bse.iloc[0], math.sqrt(4 * 0.1 + 1 * 0.2), rtol=1e-14)
