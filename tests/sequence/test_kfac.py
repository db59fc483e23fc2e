"""K-FAC / EK-FAC for the softmax layer: exact where the Kronecker structure is exact,
the EK-FAC eigenvalues are the Gauss–Newton diagonal in the Kronecker eigenbasis, and the
block correction inverts the exact block-diagonal part of H in the basis I ⊗ Q_S."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from mestimate.sequence.kfac import block_factors, block_solve, kfac_solve, kronecker_factors
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
    for meth in ("cg", "kfac", "ekfac", "ekfac_block"):
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


def _block_reference(obj, f, w, n_blocks):
    """Dense H̃: the exact GN blocks of the chosen q_S directions in the basis I ⊗ Q_S,
    EK-FAC's diagonal (in Q_A ⊗ Q_S) for the others, plus λI."""
    F1, V = obj.F1, obj.V
    B = np.kron(np.eye(F1), f.QS)                       # columns (feature f, direction j)
    D = B.T @ (obj.hessian(w) - obj.l2 * np.eye(obj.size)) @ B
    keep = np.argsort(-f.lamS, kind="stable")[:n_blocks]
    j_of = np.tile(np.arange(V), F1)
    same = (j_of[:, None] == j_of[None, :]) & np.isin(j_of, keep)[:, None]
    Ht = B @ np.where(same, D, 0.0) @ B.T
    rest = np.setdiff1d(np.arange(V), keep)
    K = np.kron(f.QA, f.QS)
    lam = np.zeros((F1, V))
    lam[:, rest] = f.ekfac[:, rest]
    return Ht + (K * lam.ravel()) @ K.T + obj.l2 * np.eye(obj.size), D


@pytest.mark.parametrize("n_blocks", [None, 0, 3])
def test_block_correction_solves_the_projected_curvature(fitted, n_blocks):
    """block_solve inverts the block-diagonal part of H in I ⊗ Q_S (EK-FAC on the rest)."""
    obj, f = _factors(fitted, fitted.params)
    b = block_factors(obj.X, obj.n, obj.probs(fitted.params), obj.n0, f, obj.l2,
                      n_blocks=n_blocks, chunk=2)
    Ht, _ = _block_reference(obj, f, fitted.params, obj.V if n_blocks is None else n_blocks)
    G = np.random.default_rng(3).normal(size=(obj.F1, obj.V, 2))
    want = np.linalg.solve(Ht, G.reshape(obj.size, 2)).reshape(G.shape)
    np.testing.assert_allclose(block_solve(b, G), want, rtol=1e-7, atol=1e-9 * np.abs(want).max())
    if n_blocks == 0:   # no blocks: exactly EK-FAC
        np.testing.assert_allclose(block_solve(b, G), kfac_solve(f, G, obj.l2), rtol=1e-10)


def test_block_correction_is_closer_to_the_hessian_than_ekfac(fitted):
    """Its blocks contain EK-FAC's eigenvalues (their Q_A diagonals) and fit H better."""
    obj, f = _factors(fitted, fitted.params)
    Ht, D = _block_reference(obj, f, fitted.params, obj.V)
    F1, V = obj.F1, obj.V
    for j in range(V):
        Cj = D[j::V, j::V]
        np.testing.assert_allclose(np.diag(f.QA.T @ Cj @ f.QA), f.ekfac[:, j], atol=1e-12)
    H = obj.hessian(fitted.params)
    K = np.kron(f.QA, f.QS)
    H_ek = (K * f.ekfac.ravel()) @ K.T + obj.l2 * np.eye(obj.size)
    assert np.linalg.norm(H - Ht) < 0.9 * np.linalg.norm(H - H_ek)


def test_block_factors_reject_bad_input(fitted):
    obj, f = _factors(fitted, fitted.params)
    P = obj.probs(fitted.params)
    with pytest.raises(ValueError, match="positive damping"):
        block_factors(obj.X, obj.n, P, obj.n0, f, 0.0)
    no_ek = kronecker_factors(obj.X, obj.n, P, obj.n0, ekfac=False)
    with pytest.raises(ValueError, match="EK-FAC eigenvalues"):
        block_factors(obj.X, obj.n, P, obj.n0, no_ek, 1.0)


def test_ekfac_block_scores_follow_damping(fitted):
    """The cached factors are rebuilt for a new damping; huge damping → gradient dot product."""
    plain = fitted.document_scores("the ", "dog", method="ekfac_block")
    big = fitted.document_scores("the ", "dog", method="ekfac_block", damping=1e8)
    dot = fitted.document_scores("the ", "dog", method="grad_dot")
    np.testing.assert_allclose(big * (1e8 + fitted.model.l2), dot, rtol=1e-6)
    np.testing.assert_allclose(fitted.document_scores("the ", "dog", method="ekfac_block"), plain)


def test_pickled_results_drop_and_rebuild_the_block_factors():
    res = SoftmaxAR(CORPUS, order=1, n_features=4, l2=1e-2).fit()
    want = res.document_scores("the ", "cat", method="ekfac_block")
    back = pickle.loads(pickle.dumps(res))
    assert res._curv._blocks is not None and back._curv._blocks is None
    np.testing.assert_allclose(back.document_scores("the ", "cat", method="ekfac_block"), want)
