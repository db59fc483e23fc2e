"""NIST StRD nonlinear regression: accuracy of mestimate and scipy on all 27 problems.

Prints a Markdown table with, for each problem and starting value, the minimum log
relative error (LRE, correct significant digits; 15 = agreement to rounding, 0 = none)
over the parameters and over the standard deviations, the iterations, and the method.
Solvers: mestimate's ``NonlinearLeastSquares`` (numerical Jacobian: complex step where the
model allows it) and ``scipy.optimize.least_squares`` (trf, and lm with x_scale="jac"), with
SDs σ̂ √diag((JᵀJ)⁻¹) from scipy's Jacobian at its solution.

Usage::

    python benchmarks/nist_table.py [--analytic] [--problems Misra1a,MGH09]
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np
from scipy import optimize

import mestimate as me
from mestimate.datasets import NIST_PROBLEMS, load_nist, log_relative_error


def _sd_from_jac(J, resid, df):
    s2 = float(resid @ resid) / df
    with np.errstate(all="ignore"):
        try:
            return np.sqrt(s2 * np.diag(np.linalg.inv(J.T @ J)))
        except np.linalg.LinAlgError:
            return np.full(J.shape[1], np.nan)


def run_mestimate(p, start, analytic=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            m = me.NonlinearLeastSquares(p.f, p.x, p.y, start_params=p.start(start),
                                         jac=p.jac if analytic else None)
            r = m.fit()
        except me.MEstimateError as exc:
            return np.nan, np.nan, 0, f"error: {type(exc).__name__}"
    est, sd = r.params.to_numpy(), r.bse.to_numpy()
    conv = "" if r.converged else " (not converged)"
    return (log_relative_error(est, p.certified_params).min(),
            log_relative_error(sd, p.certified_sd).min(), r.iterations, r.method + conv)


def run_scipy(p, start, method, analytic=False):
    def fun(b):
        return p.y - p.f(p.x, b)

    jac = (lambda b: -p.jac(p.x, b)) if analytic and p.jac is not None else "2-point"
    kw = {"x_scale": "jac"} if method == "lm" else {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            r = optimize.least_squares(fun, p.start(start), jac=jac, method=method, xtol=1e-15,
                                       ftol=1e-15, gtol=1e-15, max_nfev=20000, **kw)
        except Exception as exc:  # noqa: BLE001 - report any failure in the table
            return np.nan, np.nan, 0, f"error: {type(exc).__name__}"
    sd = _sd_from_jac(r.jac, r.fun, p.df)
    return (log_relative_error(r.x, p.certified_params).min(),
            log_relative_error(sd, p.certified_sd).min(), r.nfev,
            f"{method}" + ("" if r.success else " (failed)"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analytic", action="store_true",
                    help="use analytic Jacobians where the problem has one")
    ap.add_argument("--problems", default=",".join(NIST_PROBLEMS))
    args = ap.parse_args(argv)
    solvers = [("mestimate", lambda p, s: run_mestimate(p, s, args.analytic)),
               ("scipy trf", lambda p, s: run_scipy(p, s, "trf", args.analytic)),
               ("scipy lm", lambda p, s: run_scipy(p, s, "lm", args.analytic))]
    head = "| problem | difficulty | start |" + "".join(
        f" {n}: LRE params | SDs | iter | method |" for n, _ in solvers)
    print(head)
    print("|" + "---|" * (3 + 4 * len(solvers)))
    ok = {n: 0 for n, _ in solvers}
    for name in args.problems.split(","):
        p = load_nist(name)
        for start in (1, 2):
            cells = [p.name, p.difficulty, str(start)]
            for sname, run in solvers:
                lp, ls, it, meth = run(p, start)
                ok[sname] += bool(lp >= 6 and ls >= 4)
                cells += [f"{lp:.1f}", f"{ls:.1f}", str(it), meth]
            print("| " + " | ".join(cells) + " |")
    total = 2 * len(args.problems.split(","))
    print()
    print("Problems solved (LRE params ≥ 6 and SDs ≥ 4): " +
          ", ".join(f"{n} {k}/{total}" for n, k in ok.items()))
    print("(scipy iterations are function evaluations, nfev)")


if __name__ == "__main__":
    main()
