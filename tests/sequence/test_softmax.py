"""SoftmaxAR: features, derivatives, fit, attribution (exact / cg / refit) and errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mestimate.derivatives import jacobian
from mestimate.exceptions import DataError, MEstimateError
from mestimate.sequence._features import context_matrix, hashed_design
from mestimate.sequence._softmax_solve import newton_cg
from mestimate.sequence.softmax import SoftmaxAR

CORPUS = {
    "a": "the cat sat on the mat. the cat ate.",
    "b": "a dog sat on a log; the dog ran.",
    "c": "the mat sat. a cat ran on the log.",
    "d": "on the log the cat and the dog sat.",
}


@pytest.fixture(scope="module")
def tiny():
    return SoftmaxAR(CORPUS, order=2, n_features=8, l2=1e-2).fit()


# ---------------------------------------------------------------- features
M64 = (1 << 64) - 1


def _mix(z: int) -> int:
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & M64
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _reference_row(history: list[int], order: int, F: int) -> dict:
    """Hashed features of one context, token by token in plain Python."""
    row = {0: 1.0}
    key = 0
    for n in range(1, order + 1):
        if n > len(history):
            break
        key = (key * 0x100000001B3 + history[-n] + 1) & M64
        salt = _mix((n * 0x9E3779B97F4A7C15) & M64)
        b = 1 + _mix(key ^ salt) % F
        row[b] = row.get(b, 0.0) + 1.0
    return row


def test_hashed_features_match_plain_python_reference():
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, 40)
    pos = np.r_[np.arange(25), np.arange(15)]
    X = hashed_design(context_matrix(codes, pos, 3), 11).toarray()
    for t in range(codes.size):
        start = t - pos[t]
        expect = np.zeros(12)
        for b, v in _reference_row([int(c) for c in codes[start:t]], 3, 11).items():
            expect[b] = v
        np.testing.assert_array_equal(X[t], expect)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=30), st.integers(0, 4),
       st.integers(1, 50))
def test_feature_rows_count_available_ngrams(codes, order, F):
    codes = np.array(codes)
    pos = np.arange(codes.size)
    X = hashed_design(context_matrix(codes, pos, order), F)
    np.testing.assert_array_equal(X.sum(axis=1).A.ravel(), 1 + np.minimum(pos, order))
    assert X.shape == (codes.size, F + 1)


# ---------------------------------------------------------------- derivatives and fit
def test_gradient_and_hessian_products_match_finite_differences(tiny):
    obj = tiny.model.objective()
    w = tiny.params + np.random.default_rng(0).normal(scale=0.3, size=tiny.params.size)
    g_num = jacobian(lambda t: np.atleast_1d(obj.value_grad(t)[0]), w, method="central")
    np.testing.assert_allclose(obj.value_grad(w)[1], g_num.ravel(), rtol=1e-6, atol=1e-8)
    H_num = jacobian(lambda t: obj.value_grad(t)[1], w, method="central")
    H = obj.hessian(w)
    np.testing.assert_allclose(H, H_num, rtol=1e-5, atol=1e-7)
    D = np.random.default_rng(1).normal(size=(w.size, 3))
    np.testing.assert_allclose(obj.hessp(w, D), H @ D, rtol=1e-10, atol=1e-12)


def test_fit_matches_direct_dense_minimisation(tiny):
    """An independent dense per-token loss minimised by scipy gives the same optimum."""
    from scipy import optimize
    m = tiny.model
    X = hashed_design(context_matrix(m.codes, m.pos, m.order), m.n_features).toarray()
    Y = np.eye(len(m.vocab))[m.codes]

    def f(w):
        Z = X @ w.reshape(X.shape[1], -1)
        Z = Z - Z.max(axis=1, keepdims=True)
        lp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
        P = np.exp(lp)
        val = -(Y * lp).sum() / len(Y) + 0.5 * m.l2 * w @ w
        return val, (X.T @ (P - Y)).ravel() / len(Y) + m.l2 * w

    r = optimize.minimize(f, np.zeros(tiny.params.size), jac=True, method="L-BFGS-B",
                          options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 20000})
    assert tiny.converged and tiny.grad_norm < 1e-9
    np.testing.assert_allclose(tiny.params, r.x, atol=2e-5)
    assert tiny.fit_info.objective <= r.fun + 1e-12


def test_log_prob_and_probabilities(tiny):
    per = tiny.log_prob("the ", "cat", per_token=True)
    assert per.shape == (3,) and np.all(per < 0)
    assert tiny.log_prob("the ", "cat") == pytest.approx(per.sum())
    total = np.logaddexp.reduce([tiny.log_prob("the c", s) for s in tiny.model.vocab.symbols])
    assert total == pytest.approx(0.0, abs=1e-12)
    assert tiny.log_prob("", "t") == pytest.approx(tiny.log_prob(("x", "y", "z")[:0], "t"))


def test_results_are_read_only_and_described(tiny):
    with pytest.raises(ValueError):
        tiny.params[0] = 1.0
    assert "SoftmaxARResults" in repr(tiny) and "converged=True" in repr(tiny)
    assert tiny.nobs == sum(len(v) for v in CORPUS.values())
    assert tiny.n_documents == 4 and tiny.documents == list(CORPUS)


def test_sample_is_reproducible_and_in_alphabet(tiny):
    s1, s2 = tiny.sample("the ", 20, seed=3), tiny.sample("the ", 20, seed=3)
    assert s1 == s2 and len(s1) == 20 and set(s1) <= set(tiny.model.vocab.symbols)


# ---------------------------------------------------------------- attribution
def test_cg_scores_equal_exact_scores(tiny):
    e = tiny.document_scores("the ", "cat", method="exact")
    c = tiny.document_scores("the ", "cat", method="cg")
    np.testing.assert_allclose(c, e, rtol=1e-6, atol=1e-9 * np.abs(e).max())
    e2 = tiny.document_scores("the ", "cat", method="exact", damping=0.5)
    c2 = tiny.document_scores("the ", "cat", method="cg", damping=0.5)
    np.testing.assert_allclose(c2, e2, rtol=1e-6)
    assert not np.allclose(e, e2)      # damping changes the scores
    fresh = SoftmaxAR(CORPUS, order=2, n_features=8, l2=1e-2).fit()
    fresh._curv.factors()              # from now on cg is preconditioned by EK-FAC
    np.testing.assert_allclose(fresh.document_scores("the ", "cat", method="cg"), e, rtol=1e-6)


def _refit_weighted(res, d, eps):
    """θ̂ with document d's tokens weighted 1 + eps (N and λ kept)."""
    obj, m = res._obj, res.model
    add = np.asarray(m.doc_pairs[[d]].sum(axis=0)).ravel()
    pw = obj.pair_w + eps * add
    n = np.bincount(obj.pair_u, weights=pw, minlength=obj.X.shape[0])
    return newton_cg(obj.with_weights(n, pw), res.params.copy(), gtol=1e-13)[0]


def test_exact_scores_are_the_derivative_in_the_document_weight(tiny):
    """score(d) = N · dφ/dε with d's tokens weighted 1 + ε (central difference of refits)."""
    Xq, yq, _ = tiny.model.query_design("the ", "dog")
    from mestimate.sequence._softmax_attrib import query_log_probs
    shape = tiny.weights.shape

    def phi(w):
        return query_log_probs(w.reshape(shape), Xq, yq).sum()

    scores = tiny.document_scores("the ", "dog", method="exact")
    h = 1e-3
    for d in range(4):
        deriv = (phi(_refit_weighted(tiny, d, h)) - phi(_refit_weighted(tiny, d, -h))) / (2 * h)
        assert scores[d] == pytest.approx(tiny.nobs * deriv, rel=1e-6)


def test_attribution_check_predicts_leave_one_out(tiny):
    chk = tiny.attribution_check("the ", "dog", k=4, method="exact")
    assert list(chk.columns) == ["document", "score", "predicted", "actual"]
    np.testing.assert_allclose(chk["predicted"], -chk["score"] / tiny.nobs)
    ag = chk.attrs["agreement"]
    assert ag["spearman"] == pytest.approx(1.0) and ag["sign_agreement"] == 1.0
    assert ag["pearson"] > 0.95
    # removing "b" (the document with "dog") must lower P(dog | the)
    assert chk.set_index("document").loc["b", "actual"] < 0


def test_per_token_columns_and_observations_sum_to_scores(tiny):
    att = tiny.attribute("the ", "dog", per_token=True, top=None, method="exact")
    np.testing.assert_allclose(att[["0:d", "1:o", "2:g"]].sum(axis=1), att["score"], rtol=1e-12)
    obs = tiny.attribute("the ", "dog", by="observation", top=None, method="exact")
    assert len(obs) == tiny.nobs
    by_doc = obs.assign(doc=obs["document"].str.split(":").str[0]).groupby("doc")["score"].sum()
    np.testing.assert_allclose(by_doc[att["document"]].to_numpy(), att["score"], rtol=1e-10)


def test_several_queries_in_one_call_equal_separate_calls(tiny):
    both = tiny.attribute(["the ", "a "], ["cat", "dog"], top=None, method="cg")
    assert set(both["query"]) == {"the  → cat", "a  → dog"}
    one = tiny.attribute("a ", "dog", top=None, method="cg")
    sub = both[both["query"] == "a  → dog"].reset_index(drop=True)
    np.testing.assert_allclose(sub["score"], one["score"], rtol=1e-8)


@settings(max_examples=5, deadline=None)
@given(st.permutations(list(CORPUS)))
def test_document_order_does_not_change_scores(perm):
    base = SoftmaxAR(CORPUS, order=1, n_features=4, l2=1e-2).fit()
    res = SoftmaxAR({k: CORPUS[k] for k in perm}, order=1, n_features=4, l2=1e-2).fit()
    a = dict(zip(base.documents, base.document_scores("t", "he", method="exact")))
    b = dict(zip(res.documents, res.document_scores("t", "he", method="exact")))
    for k in CORPUS:
        assert b[k] == pytest.approx(a[k], rel=1e-6, abs=1e-9)


def test_word_level_model():
    res = SoftmaxAR(CORPUS, order=2, n_features=16, level="word").fit()
    assert res.log_prob("the ", "cat") < 0
    att = res.attribute("the ", "cat", top=2, method="cg")
    assert len(att) == 4


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs, match", [
    (dict(context="the ", response="cat!Z"), "outside the model's alphabet"),
    (dict(context="the ", response=""), "response is empty"),
    (dict(context="the ", response="cat", damping=-1.0), "non-negative"),
    (dict(context="the ", response="cat", method="lbfgs"), "unknown method"),
    (dict(context="the ", response="cat", by="token"), "unknown by"),
    (dict(context=["a", "b"], response=["x"]), "2 contexts but 1 responses"),
])
def test_attribute_errors(tiny, kwargs, match):
    with pytest.raises(MEstimateError, match=match):
        tiny.attribute(**kwargs)


def test_exact_refuses_large_models():
    res = SoftmaxAR(CORPUS, order=2, n_features=400).fit()
    with pytest.raises(MEstimateError, match="use method='cg'"):
        res.attribute("the ", "cat", method="exact")


@pytest.mark.parametrize("kwargs, match", [
    (dict(order=-1), "order"), (dict(n_features=0), "n_features"), (dict(l2=0.0), "l2"),
    (dict(level="byte"), "unknown level"),
])
def test_model_errors(kwargs, match):
    with pytest.raises(MEstimateError, match=match):
        SoftmaxAR(CORPUS, **kwargs)
    with pytest.raises(DataError, match="single string"):
        SoftmaxAR("just one text")


def test_unconverged_fit_warns():
    from mestimate.exceptions import ConvergenceWarning
    with pytest.warns(ConvergenceWarning, match="increase maxiter"):
        res = SoftmaxAR(CORPUS, order=2, n_features=8).fit(lbfgs_iter=1, maxiter=0)
    assert not res.converged and res.grad_norm > 1e-10
