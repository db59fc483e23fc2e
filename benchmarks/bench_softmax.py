"""Benchmark of SoftmaxAR on the State of the Union corpus: speed at scale, attribution accuracy.

Run: ``python benchmarks/bench_softmax.py [--quick]``. Prints two Markdown tables:

1. Scale: fit (L-BFGS + Newton-CG) of ≥ 1e5 parameters on ≥ 1e6 characters, the one-time
   K-FAC/EK-FAC factorisation (and the block eigenvalue correction), and per-query ranking
   of all documents for cg/kfac/ekfac/ekfac_block.
2. Accuracy on 30 addresses (order 3): Spearman/Pearson of each method's predicted change
   of log P(r|c) (−score/N) against the actual change when each document is removed and
   the model refitted (warm-started Newton-CG), and of kfac/ekfac/ekfac_block/grad_dot
   against cg.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from mestimate.sequence._softmax_attrib import query_log_probs
from mestimate.sequence.attribution import rank_agreement
from mestimate.sequence.corpus import load_sotu
from mestimate.sequence.softmax import SoftmaxAR

QUERIES = [("we must ", "never give up"), ("the people of the ", "United States"),
           ("Congress shall ", "provide")]


def _timed(f, *a, **k):
    t0 = time.perf_counter()
    out = f(*a, **k)
    return out, time.perf_counter() - t0


def scale(n_docs: int, order: int, n_features: int) -> None:
    docs = load_sotu(n_docs, last=True)
    model, t_build = _timed(SoftmaxAR, docs, order=order, n_features=n_features)
    res, t_fit = _timed(model.fit)
    print(f"\n### Scale: {res!r}\n")
    print("| step | seconds | note |\n|---|---|---|")
    print(f"| features + distinct contexts | {t_build:.1f} | {model.index.X.shape[0]} contexts |")
    print(f"| fit | {t_fit:.1f} | {res.fit_info.iterations} iterations "
          f"({res.fit_info.newton_iterations} Newton, {res.fit_info.cg_iterations} CG), "
          f"max abs gradient {res.grad_norm:.1e} |")
    ctx, resp = QUERIES[0]
    ref, t = _timed(res.document_scores, ctx, resp, "cg")
    print(f"| rank {len(docs)} documents, cg (Jacobi preconditioner) | {t:.2f} | "
          f"{res._curv.last_cg_iterations} CG iterations |")
    _, t_fac = _timed(res._curv.factors)
    print(f"| K-FAC/EK-FAC factorisation (once) | {t_fac:.1f} | A is {model.n_features + 1}² |")
    _, t_blk = _timed(res._curv.blocks)
    print(f"| block eigenvalue correction (once) | {t_blk:.1f} | {res._curv.n_blocks} blocks of "
          f"{model.n_features + 1}² |")
    for meth in ("cg", "kfac", "ekfac", "ekfac_block", "grad_dot"):
        s, t = _timed(res.document_scores, ctx, resp, meth)
        note = f"Spearman with cg {rank_agreement(s, ref)['spearman']:.3f}"
        if meth == "cg":
            meth = "cg (EK-FAC preconditioner)"
            note = f"{res._curv.last_cg_iterations} CG iterations; {note}"
        print(f"| rank {len(docs)} documents, {meth} | {t:.2f} | {note} |")
    att, t = _timed(res.attribute, ctx, resp, method="ekfac", per_token=True)
    print(f"| attribute(per_token=True), ekfac | {t:.2f} | {len(att.columns) - 4} token columns |")


def accuracy(n_docs: int, order: int, n_features: int) -> None:
    docs = load_sotu(n_docs)
    res = SoftmaxAR(docs, order=order, n_features=n_features).fit()
    print(f"\n### Accuracy: {res!r}\n")
    # leave-one-document-out refits are query-independent: do each once
    refits, t_refit = _timed(lambda: [res.refit_without([d]) for d in range(len(docs))])
    print("| query | method | Spearman vs refit | Pearson vs refit | Spearman vs cg | "
          "sign agreement vs refit |\n|---|---|---|---|---|---|")
    for ctx, resp in QUERIES:
        phi0 = res.log_prob(ctx, resp)
        Xq, yq, _ = res.model.query_design(ctx, resp)
        actual = np.array([query_log_probs(w.reshape(res.weights.shape), Xq, yq).sum()
                           for w in refits]) - phi0
        cg = res.document_scores(ctx, resp, "cg")
        methods = (["cg", "kfac", "ekfac", "ekfac_block", "grad_dot"]
                   + (["exact"] if res.params.size <= 5000 else []))
        for meth in methods:
            s = cg if meth == "cg" else res.document_scores(ctx, resp, meth)
            a = rank_agreement(-s / res.nobs, actual)
            c = rank_agreement(s, cg)
            print(f"| {ctx!r} → {resp!r} | {meth} | {a['spearman']:.3f} | {a['pearson']:.3f} | "
                  f"{c['spearman']:.3f} | {a['sign_agreement']:.2f} |")
    print(f"\n{len(docs)} leave-one-document-out refits (warm-started Newton-CG): {t_refit:.0f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller corpus, fewer refits")
    p.add_argument("--accuracy-features", type=int, default=2**8, metavar="F",
                   help="hash buckets of the refitted model (default 256; 2048 is the size "
                        "issue 5 asks about: 30 refits of 166k parameters, a few minutes)")
    p.add_argument("--accuracy-only", action="store_true", help="skip the scale table")
    a = p.parse_args()
    if a.quick:
        scale(12, 4, 2**10)
        accuracy(12, 3, 2**7)
        return
    if not a.accuracy_only:
        scale(30, 4, 2**11)
    accuracy(30, 3, a.accuracy_features)


if __name__ == "__main__":
    main()
