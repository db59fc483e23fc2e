"""Benchmark: MarkovChain on the whole State of the Union corpus (249 addresses, ~12M characters).

Times the fit (encoding + counting), ranking all documents for a query by exact influence,
and the exact leave-one-document-out check of every document; reports the agreement of the
first-order prediction (−score/N) with the actual change of log P(r | c). Prints Markdown.

Run: ``python benchmarks/bench_markov.py [--order 5] [--smoothing 1.0] [--penalty 0]``
"""
from __future__ import annotations

import argparse
import time

from mestimate.sequence.corpus import load_sotu
from mestimate.sequence.markov import MarkovChain

QUERIES = [("we must ", "never give up"), ("the United ", "States"), ("Congress ", "shall"),
           ("my fellow ", "citizens")]


def _timed(f, repeat: int = 1):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return out, best


def main(order: int = 5, smoothing: float | None = None, penalty: float = 0.0) -> None:
    docs, t_load = _timed(load_sotu)
    model, t_enc = _timed(lambda: MarkovChain(docs, order=order, smoothing=smoothing, penalty=penalty))
    res, t_fit = _timed(model.fit)
    print(f"{res!r}\n")
    print("| step | seconds |\n|---|---|")
    print(f"| load corpus ({sum(map(len, docs.values())):,} chars) | {t_load:.2f} |")
    print(f"| encode (MarkovChain(...)) | {t_enc:.2f} |")
    print(f"| fit (count {res.nobs:,} tokens, {res.n_contexts:,} contexts) | {t_fit:.2f} |\n")
    print("| query | rank all docs (s) | exact LOO all docs (s) | Spearman | Pearson | sign agreement |"
          "\n|---|---|---|---|---|---|")
    for c, r in QUERIES:
        _, t_rank = _timed(lambda: res.attribute(c, r, top=None), repeat=5)
        chk, t_loo = _timed(lambda: res.attribution_check(c, r, k=None), repeat=3)
        a = chk.attrs["agreement"]
        print(f"| {c!r} → {r!r} | {t_rank:.4f} | {t_loo:.4f} | {a['spearman']:.4f} | {a['pearson']:.4f}"
              f" | {a['sign_agreement']:.3f} |")
    c, r = QUERIES[0]
    print(f"\nTop documents for {c!r} → {r!r}:\n")
    print(res.attribute(c, r, top=5).to_markdown(index=False) if _has_tabulate()
          else res.attribute(c, r, top=5).to_string(index=False))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--smoothing", type=float, default=None)
    ap.add_argument("--penalty", type=float, default=0.0)
    args = ap.parse_args()
    main(args.order, args.smoothing, args.penalty)
