"""The one-command demo: ``python -m mestimate demo [--parts ...] [--out DIR]``.

Offline, on data shipped with statsmodels and (optionally) the State of the Union
corpus from the ``sotu`` package, it shows a fit with robust standard errors, the
most influential points and their leave-one-out changes, a delta-method table, a
data-dropping sensitivity check and a source attribution.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

PARTS = ("fit", "influence", "delta", "sensitivity", "attribution")


def _section(title: str) -> None:
    print("\n" + "=" * 78 + f"\n{title}\n" + "=" * 78)


def _spector():
    import statsmodels.api as sm

    df = sm.datasets.spector.load_pandas().data
    return df


def part_fit(ctx):
    import mestimate as me

    _section("1. Logit on the Spector & Mazzeo data (statsmodels' copy), HC1 standard errors")
    res = me.Logit.from_formula("GRADE ~ GPA + TUCE + PSI", ctx["spector"]).fit(cov_type="HC1")
    print(res.summary())
    ctx["res"] = res


def part_influence(ctx):
    res = ctx["res"]
    _section("2. Influence: the points that move the PSI coefficient most")
    try:
        loo = res.loo_params(method="exact")
        newton = res.loo_params(method="newton")
    except (ImportError, AttributeError) as exc:  # influence module not available
        print(f"(skipped: {exc})")
        return
    shift = (loo["PSI"] - res.params["PSI"])
    top = shift.abs().sort_values(ascending=False).index[:5]
    print("observation  PSI without it   change (exact)   change (Newton step)")
    for i in top:
        print(f"{i!s:>11}  {loo.loc[i, 'PSI']:14.4f}  {shift[i]:+15.4f}  "
              f"{newton.loc[i, 'PSI'] - res.params['PSI']:+20.4f}")
    print("\nHow good are the approximations (relative to exact leave-one-out):")
    acc = res.loo_accuracy()
    print(acc)
    try:
        from .plotting import plot_influence_index, plot_loo_accuracy
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    for name, draw in (("influence_index.png", lambda: plot_influence_index(res, "PSI")),
                       ("loo_accuracy.png", lambda: plot_loo_accuracy(acc, "PSI"))):
        out = draw()
        fig = out.figure if hasattr(out, "figure") else out
        fig.tight_layout()
        path = os.path.join(ctx["out"], name)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        print(f"wrote {path}")


def part_delta(ctx):
    res = ctx["res"]
    _section("3. Delta method: odds ratio of PSI and the GPA/TUCE ratio")
    dm = res.delta_method(["exp(PSI)", "GPA / TUCE"])
    print(dm.summary_frame())


def part_sensitivity(ctx):
    res = ctx["res"]
    _section("4. Data-dropping sensitivity: can dropping a few students flip PSI's significance?")
    try:
        print(res.sensitivity("PSI", kind="significance", max_fraction=0.2))
    except (ImportError, AttributeError) as exc:
        print(f"(skipped: {exc})")


def part_attribution(ctx):
    _section("5. Source attribution: which State of the Union addresses made a response likely?")
    try:
        from .sequence.corpus import load_sotu
        from .sequence.markov import MarkovChain
    except ImportError as exc:
        print(f"(skipped: {exc}; install with pip install 'mestimate[demo]')")
        return
    docs = load_sotu()
    res = MarkovChain(docs, order=4).fit()
    att = res.attribute("we must ", "never give up", top=5)
    # score = −∇φ·H⁻¹G_d (MATH.md); removing d changes log P(r | c) by about −score/N
    att["Δ log P if removed"] = -att["score"] / res.nobs
    print(f"order-4 character model on {res.n_documents} addresses ({res.nobs:,} characters);"
          " query: P('never give up' | 'we must ')")
    print(att.to_string(index=False))
    check = res.attribution_check("we must ", "never give up", k=10)
    agree = check.attrs.get("agreement", {})
    print(f"\nretraining without each of the top 10 documents: predicted vs actual change, "
          f"Spearman {agree.get('spearman', float('nan')):.4f}")
    ctx["attribution"] = att
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh(att["document"][::-1], att["score"][::-1],
            color=["tab:red" if s < 0 else "tab:blue" for s in att["score"][::-1]])
    ax.set_xlabel("attribution score (+: made 'never give up' more probable)")
    fig.tight_layout()
    path = os.path.join(ctx["out"], "attribution.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"\nwrote {path}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mestimate",
                                     description="mestimate demonstration (offline)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the demo")
    demo.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS),
                      help="which parts to run (default: all)")
    demo.add_argument("--out", default="mestimate-demo", help="folder for the PNG files")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    print(f"mestimate demo; plots go to {os.path.abspath(args.out)}")
    ctx = {"out": args.out, "spector": _spector()}
    t0 = time.perf_counter()
    steps = {"fit": part_fit, "influence": part_influence, "delta": part_delta,
             "sensitivity": part_sensitivity, "attribution": part_attribution}
    if "fit" not in args.parts and any(p in args.parts for p in ("influence", "delta", "sensitivity")):
        args.parts = ["fit"] + list(args.parts)
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        for name in PARTS:
            if name in args.parts:
                steps[name](ctx)
    print(f"\ndone in {time.perf_counter() - t0:.1f} s")
    return 0
