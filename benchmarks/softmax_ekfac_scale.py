"""Agreement of ekfac / ekfac_block / kfac / grad_dot scores with cg scores for SoftmaxAR on SOTU.

Usage: ``python benchmarks/softmax_ekfac_scale.py N [--first] [--order K] [--features F]``
fits ``SoftmaxAR(order=K, n_features=F)`` on the last (or first) N addresses and prints, for
the three issue-5 queries, the Spearman correlation of each method's document scores with
the cg scores, the relative error ‖s − s_cg‖/‖s_cg‖ of the inverse-curvature solve, and the
fit, factorisation and per-query times (a Markdown table).
"""
import argparse
import time

import numpy as np

from mestimate.sequence._softmax_attrib import pair_contributions, phi_gradients
from mestimate.sequence.attribution import rank_agreement
from mestimate.sequence.corpus import load_sotu
from mestimate.sequence.softmax import SoftmaxAR

QUERIES = [("we must ", "never give up"), ("the people of the ", "United States"),
           ("Congress shall ", "provide")]
METHODS = ("ekfac", "ekfac_block", "kfac", "grad_dot")


def _solve_and_score(res, G, method):
    """(H⁻¹∇φ by ``method``, document scores) as ``res.document_scores`` computes them."""
    S = res._curv.solve(G, method, 0.0)
    obj = res._obj
    contrib = -pair_contributions(S, obj.X, obj.probs(res.params), obj.pair_u, obj.pair_y)
    return S, np.asarray(res.model.doc_pairs @ contrib).ravel()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("n", type=int, help="number of addresses")
    p.add_argument("--first", action="store_true", help="the first N addresses (default: last N)")
    p.add_argument("--order", type=int, default=4)
    p.add_argument("--features", type=int, default=2**11)
    a = p.parse_args()
    docs = load_sotu(a.n, last=not a.first)
    t = time.perf_counter()
    res = SoftmaxAR(docs, order=a.order, n_features=a.features).fit()
    print(f"{res!r}\nfit {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    res._curv.factors()
    t_k = time.perf_counter() - t
    t = time.perf_counter()
    res._curv.blocks()
    print(f"factorisation: Kronecker + EK-FAC {t_k:.1f} s, block correction "
          f"{time.perf_counter() - t:.1f} s ({res._curv.n_blocks} blocks)", flush=True)
    print("\n| query | method | Spearman vs cg | rel. error of s | query seconds |\n|---|---|---|---|---|")
    for ctx, resp in QUERIES:
        Xq, yq, _ = res.model.query_design(ctx, resp)
        G = phi_gradients(res.weights, Xq, yq).sum(axis=2, keepdims=True)
        t = time.perf_counter()
        s_cg, cg = _solve_and_score(res, G, "cg")
        print(f"| {ctx!r} → {resp!r} | cg | 1 | 0 | {time.perf_counter() - t:.2f} |")
        for meth in METHODS:
            t = time.perf_counter()
            s, sc = _solve_and_score(res, G, meth)
            dt = time.perf_counter() - t
            err = np.linalg.norm(s - s_cg) / np.linalg.norm(s_cg)
            print(f"| {ctx!r} → {resp!r} | {meth} | {rank_agreement(sc, cg)['spearman']:.4f} | "
                  f"{err:.3f} | {dt:.2f} |", flush=True)


if __name__ == "__main__":
    main()
