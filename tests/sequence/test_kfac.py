"""K-FAC / EK-FAC for the softmax layer: exact where the Kronecker structure is exact,
the EK-FAC eigenvalues are the Gauss–Newton diagonal in the Kronecker eigenbasis."""
from __future__ import annotations

import numpy as np
import pytest

from mestimate.sequence.kfac import kfac_solve, kronecker_factors
from mestimate.sequence.softmax import SoftmaxAR

CORPUS = ["the cat sat on the mat.", "a dog sat on a log; the dog ran.",
          "the mat sat. a cat ran on the log.", "on the log the cat and the dog sat."]


@pytest.fixture(scope="module")
def fitted():
    return SoftmaxAR(CORPUS, order=2, n_features=6, l2=1e-2).fit()


def _factors(res, w):
    obj = res._obj
    return obj, kronecker_factors(obj.X, obj.n, obj.probs(w), obj.n0, chunk=7)


def test_kfac_and_ekfac_are_exact_when_probabilities_do_not_depend_on_context(fitted):
    """With only the bias row non-zero every token has the same p, so H = A ⊗ S + λI."""
    rng = np.random.default_rng(0)
    W = np.zeros(fitted.weights.shape)
    W[0] = rng.normal(size=W.shape[1])
    obj, f = _factors(fitted, W.ravel())
    H = obj.hessian(W.ravel())
    G = rng.normal(size=(W.shape[0], W.shape[1], 3))
    want = np.linalg.solve(H, G.reshape(obj.size, 3)).reshape(G.shape)
    for kind in ("kfac", "ekfac"):
        np.testing.assert_allclose(kfac_solve(f, G, obj.l2, kind=kind), want, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(f.ekfac, np.outer(f.lamA, f.lamS), atol=1e-12)


def test_ekfac_eigenvalues_are_the_gauss_newton_diagonal_in_the_kronecker_basis(fitted):
    obj, f = _factors(fitted, fitted.params)
    H_gn = obj.hessian(fitted.params) - obj.l2 * np.eye(obj.size)
    Q = np.kron(f.QA, f.QS)
    D = Q.T @ H_gn @ Q
    np.testing.assert_allclose(f.ekfac.ravel(), np.diag(D), rtol=1e-8, atol=1e-12)
    # and K-FAC's eigenvalues are not (the contexts' p differ here)
    assert not np.allclose(np.outer(f.lamA, f.lamS).ravel(), np.diag(D), rtol=1e-3)
    # EK-FAC is the best diagonal in that basis, so never worse than K-FAC (Frobenius)
    err_ek = np.linalg.norm(H_gn - (Q * f.ekfac.ravel()) @ Q.T)
    err_k = np.linalg.norm(H_gn - (Q * np.outer(f.lamA, f.lamS).ravel()) @ Q.T)
    assert err_ek < err_k


def test_order_zero_model_has_exact_kronecker_curvature():
    """One context (bias only): A = 1 and every attribution method but grad_dot is exact."""
    res = SoftmaxAR(CORPUS, order=0, n_features=4, l2=1e-3).fit()
    exact = res.document_scores("the ", "cat", method="exact")
    for meth in ("cg", "kfac", "ekfac"):
        np.testing.assert_allclose(res.document_scores("the ", "cat", method=meth), exact,
                                   rtol=1e-7, atol=1e-9 * np.abs(exact).max())
    assert not np.allclose(res.document_scores("the ", "cat", method="grad_dot"), exact)


def test_damping_and_kinds(fitted):
    obj, f = _factors(fitted, fitted.params)
    G = np.random.default_rng(2).normal(size=fitted.weights.shape)
    big = 1e8
    np.testing.assert_allclose(kfac_solve(f, G, big, kind="ekfac") * big, G, rtol=1e-6)
    with pytest.raises(ValueError, match="unknown kind"):
        kfac_solve(f, G, 1.0, kind="diag")


def test_compare_methods_reports_every_method(fitted):
    tab = fitted.compare_methods("the ", "dog")
    assert list(tab["method"]) == ["cg", "kfac", "ekfac", "grad_dot"]
    assert set(tab["reference"]) == {"exact"}
    assert tab.set_index("method").loc["cg", "spearman"] == pytest.approx(1.0)
    assert np.all(np.abs(tab["spearman"]) <= 1)
