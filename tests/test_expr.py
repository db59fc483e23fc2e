"""Tests of the safe expression language in mestimate._expr."""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose

from mestimate._expr import FUNCTIONS, compile_expression
from mestimate.exceptions import MEstimateError

NAMES = ["Intercept", "hp", "wt", "C(industry)[T.b]", "x.1", "lag 1"]
THETA = np.array([2.0, 0.5, 3.0, -0.25, 1.5, 0.3])


@pytest.mark.parametrize("expr, expected", [
    ("hp / wt", 0.5 / 3.0),
    ("exp(wt)", math.exp(3.0)),
    ("Intercept + 2*hp", 3.0),
    ("-hp**2", -0.25),
    ("(-hp)**2", 0.25),
    ("2**-1", 0.5),
    ("+wt - -1", 4.0),
    ("`lag 1` / (1 - `lag 1` - hp)", 0.3 / 0.2),
    ('Q("C(industry)[T.b]") * 4', -1.0),
    ("`C(industry)[T.b]` * 4", -1.0),
    ("`x.1` * `Intercept`", 3.0),
    ("C(industry)[T.b]", -0.25),       # a whole expression that is one name needs no quotes
    ("  x.1 ", 1.5),
    ("expit(0)", 0.5),
    ("logistic(hp) + logit(expit(hp))", 1 / (1 + math.exp(-0.5)) + 0.5),
    ("power(wt, 2) + square(hp) + sqrt(4)", 9 + 0.25 + 2),
    ("log(e) + log10(100) + log2(8) + log1p(0) + expm1(0)", 1 + 2 + 3),
    ("sin(pi/2) + cos(0) + tan(0) + arctan(1)*4/pi", 3.0),
    ("arcsin(1) * 2 - pi + arccos(1) + sinh(0) + cosh(0) + tanh(0) + arctanh(0)", 1.0),
    ("abs(-wt)", 3.0),
    ("1e-3 * 1000", 1.0),
])
def test_scalar_expressions(expr, expected):
    f = compile_expression(expr, NAMES)
    out = f(THETA)
    assert out.shape == (1,)
    assert_allclose(out[0], expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("expr", ["hp/wt, exp(wt)", "[hp/wt, exp(wt)]", "(hp/wt, exp(wt))",
                                  ["hp/wt", "exp(wt)"]])
def test_vector_forms(expr):
    f = compile_expression(expr, NAMES)
    assert f.names == ["hp/wt", "exp(wt)"]
    assert len(f) == 2
    assert_allclose(f(THETA), [0.5 / 3.0, math.exp(3.0)], rtol=1e-15)


def test_labels_keep_the_users_backticks():
    f = compile_expression(["`x.1` + 1, exp(`lag 1`) * `x.1`", "C(industry)[T.b]",
                            "Q('lag 1')"], NAMES)
    assert f.names == ["`x.1` + 1", "exp(`lag 1`) * `x.1`", "C(industry)[T.b]", "Q('lag 1')"]
    assert_allclose(f(THETA), [2.5, math.exp(0.3) * 1.5, -0.25, 0.3], rtol=1e-15)


def test_parameters_shadow_constants_and_functions():
    f = compile_expression("e * pi + exp(exp)", ["e", "exp"])
    assert_allclose(f(np.array([2.0, 0.0])), [2 * math.pi + 1.0], rtol=1e-15)


def test_complex_evaluation_is_analytic():
    f = compile_expression("hp * exp(wt) / (1 + `x.1`**2), sqrt(wt) + logit(expit(hp))", NAMES)
    h = 1e-20
    t = THETA.astype(complex)
    t[2] += 1j * h
    out = f(t)
    assert np.iscomplexobj(out)
    assert_allclose(out.real, f(THETA), rtol=1e-15)
    d_wt = [0.5 * math.exp(3.0) / (1 + 1.5**2), 0.5 / math.sqrt(3.0)]
    assert_allclose(out.imag / h, d_wt, rtol=1e-13)


@pytest.mark.parametrize("expr, fragment", [
    ("hp.real", "'hp.real'"),
    ("`x.1`.real", "'`x.1`.real'"),
    ("hp[0]", "Subscript"),
    ("lambda: 1", "Lambda"),
    ("__import__('os').system('true')", "only calls of plain function names"),
    ("__import__('os')", "unknown function '__import__'"),
    ("__class__", "'__'"),
    ("hp ^ 2", "Use \\*\\* for powers"),
    ("hp % 2", "operator not allowed"),
    ("hp // 2", "operator not allowed"),
    ("~hp", "operator not allowed"),
    ("not hp", "operator not allowed"),
    ("hp < 1", "Compare"),
    ("hp if wt else 1", "IfExp"),
    ("[x for x in hp]", "ListComp"),
    ("{'a': hp}", "Dict"),
    ("'text'", "only real numbers"),
    ("1j * hp", "only real numbers"),
    ("True * hp", "only real numbers"),
    ("foo(hp)", "unknown function 'foo'"),
    ("eval('1')", "unknown function 'eval'"),
    ("exp(x=hp)", "keyword"),
    ("exp(*hp)", "starred"),
    ("exp(hp, wt)", "takes 1 argument"),
    ("power(hp)", "takes 2 argument"),
    ("exp", "is a function and must be called"),
    ("horsepower / wt", "unknown parameter name: 'horsepower'"),
    ("`nope` + 1", "unknown parameter name: '`nope`'"),
    ("Q(hp)", "Q\\(\\) takes one quoted parameter name"),
    ("hp = 1", "cannot parse"),
    ("x.1 + 1", "cannot parse"),
    ("`hp", "unbalanced backtick"),
    ("", "empty expression"),
    ("hp\n+ 1", "one line"),
    ("(hp := 1)", "NamedExpr"),
])
def test_rejected_expressions_name_the_problem(expr, fragment):
    with pytest.raises(MEstimateError, match=fragment) as info:
        compile_expression(expr, NAMES)
    msg = str(info.value)
    if "cannot parse" not in msg and "backtick" not in fragment and "empty" not in msg \
            and "one line" not in msg:
        assert "Parameter names: Intercept, hp, wt" in msg
        assert "exp" in msg and "sqrt" in msg


def test_no_code_runs(tmp_path):
    marker = tmp_path / "pwned"
    expr = f"__import__('os').system('touch {marker}')"
    with pytest.raises(MEstimateError):
        compile_expression(expr, NAMES)
    with pytest.raises(MEstimateError):
        compile_expression(f"().__class__.__base__.__subclasses__(), `{os.sep}`", NAMES)
    assert not marker.exists()


def test_huge_powers_do_not_hang():
    f = compile_expression("10 ** 10 ** 10", ["a"])
    with np.errstate(over="ignore"):
        assert np.isinf(f(np.array([1.0]))[0])


@pytest.mark.parametrize("expr", ["(" * 300 + "hp" + ")" * 300, "-" * 5000 + "hp",
                                  "+".join(["hp"] * 3000)], ids=["parens", "unary", "sum"])
def test_deep_nesting_is_an_error_not_a_crash(expr):
    with pytest.raises(MEstimateError, match="nested too deeply|too many nested") as info:
        compile_expression(expr, NAMES)
    assert len(str(info.value)) < 400


def test_bad_inputs():
    with pytest.raises(MEstimateError, match="unique"):
        compile_expression("a", ["a", "a"])
    with pytest.raises(MEstimateError, match="no expression"):
        compile_expression([], ["a"])
    with pytest.raises(MEstimateError, match="must be a string"):
        compile_expression(["a", 3], ["a"])
    f = compile_expression("a + b", ["a", "b"])
    with pytest.raises(MEstimateError, match="length 2"):
        f(np.ones(3))
    assert "a + b" in repr(f)


def test_function_whitelist_is_numpy_elementwise():
    for name, func in FUNCTIONS.items():
        out = func(*([np.float64(0.3)] * (2 if name == "power" else 1)))
        assert np.ndim(out) == 0, name


# --------------------------------------------------------------------------- property test

LEAF_NAMES = {"hp": 1, "`x.1`": 4, "`lag 1`": 5, "Q('C(industry)[T.b]')": 3}
UNARY = {"exp": np.exp, "tanh": np.tanh, "sin": np.sin, "-": np.negative}
BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


def _leaf():
    names = st.sampled_from(sorted(LEAF_NAMES)).map(
        lambda s: (s, lambda t, j=LEAF_NAMES[s]: t[j]))
    nums = st.floats(0.01, 100.0).map(lambda c: (repr(c), lambda t, c=c: np.float64(c)))
    return names | nums


def _extend(children):
    unary = st.tuples(st.sampled_from(sorted(UNARY)), children).map(
        lambda u: (f"{u[0]}({u[1][0]})" if u[0] != "-" else f"-({u[1][0]})",
                   lambda t, f=UNARY[u[0]], g=u[1][1]: f(g(t))))
    binary = st.tuples(st.sampled_from(sorted(BINARY)), children, children).map(
        lambda b: (f"({b[1][0]}) {b[0]} ({b[2][0]})",
                   lambda t, f=BINARY[b[0]], g=b[1][1], h=b[2][1]: f(g(t), h(t))))
    return unary | binary


@settings(max_examples=150, deadline=None)
@given(st.recursive(_leaf(), _extend, max_leaves=12),
       st.lists(st.floats(-2, 2), min_size=6, max_size=6))
def test_random_expression_trees_evaluate_like_the_tree(tree, values):
    text, func = tree
    theta = np.array(values)
    with np.errstate(all="ignore"):
        got = compile_expression(text, NAMES)(theta)
        want = func(theta)
    assert got.shape == (1,)
    assert_allclose(got[0], want, rtol=0, atol=0, equal_nan=True)
