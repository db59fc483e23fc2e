"""EK-FAC / K-FAC / gradient-dot agreement with CG scores for SoftmaxAR on the last N SOTU addresses.

Usage: python benchmarks/softmax_ekfac_scale.py 30      (closing-note figures for issue 5)
"""
import sys
import time

import numpy as np
from mestimate.sequence.corpus import load_sotu
from mestimate.sequence.softmax import SoftmaxAR
from mestimate.sequence.attribution import rank_agreement
QUERIES = [("we must ", "never give up"), ("the people of the ", "United States"), ("Congress shall ", "provide")]
docs = load_sotu(int(sys.argv[1]), last=True)
t=time.perf_counter()
res = SoftmaxAR(docs, order=4).fit()
print(res.params.size, res.nobs, f"fit {time.perf_counter()-t:.0f}s", flush=True)
for ctx, resp in QUERIES:
    t=time.perf_counter(); cg = res.document_scores(ctx, resp, "cg"); tc=time.perf_counter()-t
    t=time.perf_counter(); ek = res.document_scores(ctx, resp, "ekfac"); te=time.perf_counter()-t
    kf = res.document_scores(ctx, resp, "kfac"); gd = res.document_scores(ctx, resp, "grad_dot")
    print(repr(ctx), repr(resp), "ekfac", round(rank_agreement(ek, cg)["spearman"],4), "kfac", round(rank_agreement(kf, cg)["spearman"],4),
          "grad_dot", round(rank_agreement(gd, cg)["spearman"],4), f"cg {tc:.1f}s ekfac {te:.1f}s", flush=True)
