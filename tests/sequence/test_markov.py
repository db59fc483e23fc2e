"""MarkovChain: counts, exact LOO and exact influence against brute-force references."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import optimize

from mestimate.exceptions import DataError, IdentificationError, MEstimateError
from mestimate.sequence.markov import MarkovChain

CORPUS = {
    "a": "the cat sat on the mat",
    "b": "a hat on a cat",
    "c": "that man ate the oats",
    "d": "to",          # shorter than the order: contributes no token
    "e": "the tan cat ran at the man",
}
QUERY = ("the c", "at sat")


# --------------------------------------------------------------------------- brute force
def bf_counts(docs, k, weights=None):
    """Counter of (context, symbol) -> weighted count, by explicit loops (independent code)."""
    cnt: Counter = Counter()
    for name, text in docs.items():
        w = 1.0 if weights is None else weights.get(name, 1.0)
        for t in range(k, len(text)):
            cnt[(text[t - k:t], text[t])] += w
    return cnt


def bf_prob(cnt, alphabet, ctx, sym, alpha):
    n_c = sum(v for (c, _), v in cnt.items() if c == ctx)
    return (cnt.get((ctx, sym), 0.0) + alpha) / (n_c + len(alphabet) * alpha)


def bf_ridge_probs(cnt, alphabet, ctx, alpha, lam):
    """Minimise the penalised objective of one context with scipy (independent of our Newton)."""
    nt = np.array([cnt.get((ctx, a), 0.0) for a in alphabet]) + alpha
    m = nt.sum()

    def f(th):
        lse = np.log(np.exp(th - th.max()).sum()) + th.max()
        return m * lse - nt @ th + 0.5 * lam * th @ th

    def g(th):
        p = np.exp(th - th.max()); p /= p.sum()
        return m * p - nt + lam * th

    def h(th):
        p = np.exp(th - th.max()); p /= p.sum()
        return m * (np.diag(p) - np.outer(p, p)) + lam * np.eye(p.size)

    sol = optimize.minimize(f, np.zeros(len(alphabet)), jac=g, hess=h, method="trust-exact",
                            options={"gtol": 1e-13})
    p = np.exp(sol.x - sol.x.max())
    return p / p.sum()


def bf_phi(docs, k, alphabet, ctx, resp, alpha, lam=0.0, weights=None):
    cnt = bf_counts(docs, k, weights)
    full = ctx + resp
    out = 0.0
    for j in range(len(ctx), len(full)):
        c = full[j - k:j]
        if lam == 0:
            out += math.log(bf_prob(cnt, alphabet, c, full[j], alpha))
        else:
            out += math.log(bf_ridge_probs(cnt, alphabet, c, alpha, lam)[alphabet.index(full[j])])
    return out


def alphabet_of(docs):
    return sorted(set("".join(docs.values())))


# --------------------------------------------------------------------------- fitting
@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_probabilities_match_brute_force(k):
    alpha = 0.5
    res = MarkovChain(CORPUS, order=k, smoothing=alpha).fit()
    A = alphabet_of(CORPUS)
    cnt = bf_counts(CORPUS, k)
    assert res.nobs == sum(max(len(t) - k, 0) for t in CORPUS.values())
    assert res.doc_tokens.tolist() == [max(len(t) - k, 0) for t in CORPUS.values()]
    assert sorted(res.contexts) == sorted({c for c, _ in cnt})
    for ctx in ["", "th", "at", "zq"[:0] + "e ", "xx"]:
        c = ctx[-k:] if k else ""
        if len(ctx) < k or any(s not in A for s in ctx):
            continue
        expected = [bf_prob(cnt, A, c, a, alpha) for a in A]
        np.testing.assert_allclose(res.transition_probs(ctx).to_numpy(), expected, rtol=1e-13)
    if k <= len(QUERY[0]):
        assert res.log_prob(*QUERY) == pytest.approx(bf_phi(CORPUS, k, A, *QUERY, alpha), rel=1e-13)


def test_params_are_centred_log_probabilities():
    res = MarkovChain(CORPUS, order=2, smoothing=0.3).fit()
    P = np.exp(res.params)
    P /= P.sum(1, keepdims=True)
    np.testing.assert_allclose(res.params.sum(1), 0, atol=1e-12)
    for i in [0, 7, len(res.contexts) - 1]:
        np.testing.assert_allclose(P[i], res.transition_probs(res.contexts[i]).to_numpy(), rtol=1e-12)


def test_ridge_matches_scipy():
    A = alphabet_of(CORPUS)
    res = MarkovChain(CORPUS, order=2, smoothing=0.2, penalty=0.7).fit()
    cnt = bf_counts(CORPUS, 2)
    for ctx in ["th", "at", "qq"[:0] + "a "]:
        np.testing.assert_allclose(res.transition_probs(ctx).to_numpy(),
                                   bf_ridge_probs(cnt, A, ctx, 0.2, 0.7), rtol=1e-7)
    # a context never seen in training has only the prior: uniform
    np.testing.assert_allclose(res.transition_probs("zz"[:0] + "mm").to_numpy(), 1 / len(A))


def test_word_level():
    docs = ["we must never give up", "we must go on", "we can never give in"]
    res = MarkovChain(docs, order=2, level="word", smoothing=0.1).fit()
    assert set(res.alphabet) == {"we", "must", "never", "give", "up", "go", "on", "can", "in", " "}
    lp = res.log_prob("we must", " never")
    # response token " " follows (" ", "must"), then "never" follows ("must", " ")
    A = len(res.alphabet)
    p1 = (2 + 0.1) / (2 + 0.1 * A)      # after (" ", "must"): " " twice
    p2 = (1 + 0.1) / (2 + 0.1 * A)      # after ("must", " "): "never" once, "go" once
    assert lp == pytest.approx(math.log(p1) + math.log(p2), rel=1e-12)
    assert isinstance(res.sample("we must", 3, seed=0), str)


# --------------------------------------------------------------------------- LOO
@pytest.mark.parametrize("alpha,lam", [(0.5, 0.0), (0.0, 0.4), (0.3, 2.0)])
def test_exact_loo_equals_refit(alpha, lam):
    res = MarkovChain(CORPUS, order=2, smoothing=alpha, penalty=lam).fit()
    loo = res.loo_log_prob(*QUERY)
    A = res.alphabet
    for name in CORPUS:
        rest = {n: t for n, t in CORPUS.items() if n != name}
        refit = MarkovChain(rest, order=2, smoothing=alpha, penalty=lam, alphabet=A).fit()
        assert loo[name] == pytest.approx(refit.log_prob(*QUERY), rel=1e-9, abs=1e-11)
    sub = res.loo_log_prob(*QUERY, documents=["c", "a"])
    assert list(sub.index) == ["c", "a"] and sub["a"] == loo["a"]


# --------------------------------------------------------------------------- influence
@pytest.mark.parametrize("alpha,lam", [(0.5, 0.0), (0.2, 0.7)])
def test_scores_equal_derivative_in_document_weight(alpha, lam):
    """score(d) = N dφ/dw, where d's counts are weighted (1 + w): brute-force central differences."""
    res = MarkovChain(CORPUS, order=2, smoothing=alpha, penalty=lam).fit()
    att = res.attribute(*QUERY, top=None).set_index("document")
    A = res.alphabet
    h = 1e-4
    for name in ["a", "c", "e"]:
        up = bf_phi(CORPUS, 2, A, *QUERY, alpha, lam, weights={name: 1 + h})
        dn = bf_phi(CORPUS, 2, A, *QUERY, alpha, lam, weights={name: 1 - h})
        fd = res.nobs * (up - dn) / (2 * h)
        assert att.loc[name, "score"] == pytest.approx(fd, rel=1e-6, abs=1e-6)
    assert att.loc["d", "score"] == 0.0


def _dense_scores(docs, k, alphabet, ctx, resp, alpha, lam, damping):
    """−∇φ·(H_n + damping I)⁺ G_d with dense matrices over the query's contexts (independent)."""
    cnt = bf_counts(docs, k)
    full = ctx + resp
    cs = sorted({full[j - k:j] for j in range(len(ctx), len(full))})
    A, N = len(alphabet), sum(max(len(t) - k, 0) for t in docs.values())
    P = {}
    for c in cs:
        P[c] = (np.array([bf_prob(cnt, alphabet, c, a, alpha) for a in alphabet]) if lam == 0
                else bf_ridge_probs(cnt, alphabet, c, alpha, lam))
    H = np.zeros((len(cs) * A, len(cs) * A))
    grad_phi = np.zeros(len(cs) * A)
    for i, c in enumerate(cs):
        m = sum(cnt.get((c, a), 0) for a in alphabet) + A * alpha
        p = P[c]
        H[i * A:(i + 1) * A, i * A:(i + 1) * A] = (m * (np.diag(p) - np.outer(p, p)) + lam * np.eye(A)) / N
    for j in range(len(ctx), len(full)):
        i = cs.index(full[j - k:j])
        grad_phi[i * A:(i + 1) * A] -= P[cs[i]]
        grad_phi[i * A + alphabet.index(full[j])] += 1
    Hd = H + damping * np.eye(H.shape[0])
    s = np.linalg.pinv(Hd) @ grad_phi if (lam == 0 and damping == 0) else np.linalg.solve(Hd, grad_phi)
    out = {}
    for name, text in docs.items():
        G = np.zeros(len(cs) * A)
        for t in range(k, len(text)):
            if text[t - k:t] in cs:
                i = cs.index(text[t - k:t])
                G[i * A:(i + 1) * A] += P[cs[i]]
                G[i * A + alphabet.index(text[t])] -= 1
        out[name] = -s @ G
    return out


@pytest.mark.parametrize("alpha,lam,damping", [(0.5, 0.0, 0.0), (0.5, 0.0, 0.05), (0.1, 0.8, 0.02)])
def test_scores_equal_dense_hessian_solve(alpha, lam, damping):
    res = MarkovChain(CORPUS, order=2, smoothing=alpha, penalty=lam).fit()
    att = res.attribute(*QUERY, top=None, damping=damping).set_index("document")["score"]
    ref = _dense_scores(CORPUS, 2, res.alphabet, *QUERY, alpha, lam, damping)
    for name, v in ref.items():
        assert att[name] == pytest.approx(v, rel=1e-6, abs=1e-8 * max(map(abs, ref.values())))


def test_per_token_columns_and_observations_sum_to_scores():
    res = MarkovChain(CORPUS, order=2, smoothing=0.5).fit()
    att = res.attribute(*QUERY, top=None, per_token=True)
    tok_cols = [c for c in att.columns if c not in ("document", "score", "rank", "tokens")]
    assert len(tok_cols) == len(QUERY[1])
    np.testing.assert_allclose(att[tok_cols].sum(axis=1), att["score"], rtol=1e-12)
    obs = res.attribute(*QUERY, by="observation", top=None)
    by_doc = obs.groupby(obs["document"].str.split(":").str[0])["score"].sum()
    doc = att.set_index("document")["score"]
    np.testing.assert_allclose(by_doc.reindex(doc.index).fillna(0.0), doc, rtol=1e-10, atol=1e-9)
    # the labelled position really holds a token that follows a context of the query
    name, pos = obs["document"].iloc[0].split(":")
    full = QUERY[0] + QUERY[1]
    assert CORPUS[name][int(pos) - 2:int(pos)] in {full[j - 2:j] for j in range(len(QUERY[0]), len(full))}


def test_method_loo_and_attribution_check():
    res = MarkovChain(CORPUS, order=2, smoothing=0.5).fit()
    loo = res.attribute(*QUERY, method="loo", top=None).set_index("document")["score"]
    actual = res.loo_log_prob(*QUERY) - res.log_prob(*QUERY)
    np.testing.assert_allclose(loo[actual.index], -res.nobs * actual, rtol=1e-12)
    assert loo["d"] == 0.0  # a document without tokens has no influence
    chk = res.attribution_check(*QUERY, k=3)
    assert len(chk) == 3 and chk["score"].abs().is_monotonic_decreasing
    np.testing.assert_allclose(chk["actual"], actual[chk["document"]].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(chk["predicted"], -chk["score"] / res.nobs)
    assert set(chk.attrs["agreement"]) >= {"spearman", "pearson", "sign_agreement"}


def test_several_queries_match_single_calls():
    res = MarkovChain(CORPUS, order=2, smoothing=0.5).fit()
    qs = [("the c", "at sat"), ("a h", "at on")]
    both = res.attribute([q[0] for q in qs], [q[1] for q in qs], top=None)
    assert both["query"].nunique() == 2
    for (c, r), (_, part) in zip(qs, both.groupby("query", sort=False)):
        one = res.attribute(c, r, top=None)
        np.testing.assert_allclose(part["score"].to_numpy(), one["score"].to_numpy(), rtol=1e-12)
    assert res.log_prob([q[0] for q in qs], [q[1] for q in qs]) == [res.log_prob(*q) for q in qs]
    loo = res.loo_log_prob([q[0] for q in qs], [q[1] for q in qs])
    np.testing.assert_allclose(loo.iloc[:, 1], res.loo_log_prob(*qs[1]).to_numpy())


def test_sotu_first_order_prediction_ranks_documents():
    from mestimate.sequence.corpus import load_sotu

    res = MarkovChain(load_sotu(30), order=3).fit()
    chk = res.attribution_check("we must ", "never give up", k=None)
    assert len(chk) == 30
    assert chk.attrs["agreement"]["spearman"] >= 0.99
    assert chk.attrs["agreement"]["sign_agreement"] == 1.0


# --------------------------------------------------------------------------- errors
def test_errors():
    res = MarkovChain(CORPUS, order=2).fit()
    with pytest.raises(DataError, match="outside the model's alphabet"):
        res.attribute("th", "Z")
    with pytest.raises(DataError, match="response is empty"):
        res.attribute("th", "")
    with pytest.raises(DataError, match="order 2"):
        res.log_prob("t", "he")
    with pytest.raises(DataError, match="damping"):
        res.attribute("th", "e", damping=-1)
    with pytest.raises(MEstimateError, match="allowed values"):
        res.attribute("th", "e", method="kfac")
    with pytest.raises(MEstimateError, match="allowed values"):
        res.attribute("th", "e", by="token")
    with pytest.raises(DataError, match="same length"):
        res.attribute(["th", "at"], ["e"])
    with pytest.raises(DataError, match="unknown documents"):
        res.loo_log_prob("th", "e", documents=["nope"])
    with pytest.raises(DataError, match="smoothing"):
        MarkovChain(CORPUS, order=2, smoothing=-1)
    with pytest.raises(DataError, match="order"):
        MarkovChain(CORPUS, order=-1)
    with pytest.raises(IdentificationError, match="smoothing > 0 or penalty > 0"):
        MarkovChain(CORPUS, order=2, smoothing=0)
    with pytest.raises(DataError, match="outside"):
        MarkovChain(CORPUS, order=1, alphabet="abc")
    with pytest.raises(DataError, match="nothing to fit"):
        MarkovChain(["ab"], order=3).fit()


# --------------------------------------------------------------------------- invariances
texts = st.lists(st.text(alphabet="abc ", min_size=0, max_size=15), min_size=2, max_size=6)


@settings(max_examples=40, deadline=None)
@given(texts, st.randoms(use_true_random=False), st.integers(0, 2))
def test_permuting_documents_changes_no_score(docs, rnd, k):
    docs = dict(zip([f"d{i}" for i in range(len(docs))], docs))
    names = list(docs)
    rnd.shuffle(names)
    assume(sum(max(len(t) - k, 0) for t in docs.values()) > 0)
    kw = dict(order=k, smoothing=0.7, alphabet="abc ")
    r1 = MarkovChain(docs, **kw).fit()
    r2 = MarkovChain({n: docs[n] for n in names}, **kw).fit()
    a1 = r1.attribute("ab", "c a", top=None).set_index("document")["score"]
    a2 = r2.attribute("ab", "c a", top=None).set_index("document")["score"]
    pd.testing.assert_series_equal(a1.sort_index(), a2.sort_index(), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(texts, st.integers(1, 3), st.floats(0.05, 3.0), st.booleans())
def test_duplicating_documents_with_scaled_prior_keeps_probabilities(docs, k, alpha, ridge):
    assume(sum(max(len(t) - k, 0) for t in docs) > 0)
    kw = dict(order=k, alphabet="abc ")
    lam = 0.5 if ridge else 0.0
    r1 = MarkovChain(docs, smoothing=alpha, penalty=lam, **kw).fit()
    r2 = MarkovChain(docs + docs, smoothing=2 * alpha, penalty=2 * lam, **kw).fit()
    assert r2.nobs == 2 * r1.nobs
    assert r2.log_prob("abc", " ab") == pytest.approx(r1.log_prob("abc", " ab"), rel=1e-9)
    np.testing.assert_allclose(r2.transition_probs("ca a"), r1.transition_probs("ca a"), rtol=1e-9)
