"""Influence + Newton-step LOO for all n (n = 200,000, k = 30 logit) against statsmodels'
``get_influence().d_params``, both given a fitted model (issue 4's target: ratio ≤ 0.25).

Usage: python benchmarks/influence_large.py
"""
import time

import numpy as np
import statsmodels.api as sm

import mestimate as me


def main(n: int = 200_000, k: int = 30, repeats: int = 5) -> None:
    rng = np.random.default_rng(0)
    X = np.c_[np.ones(n), rng.normal(size=(n, k - 1))]
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ (rng.normal(size=k) * 0.1)))).astype(float)
    ours, theirs = me.Logit(y, X).fit(), sm.Logit(y, X).fit(disp=0)

    def mestimate_run():
        # drop everything cached after the fit except the bread (statsmodels keeps its fit too)
        for key in [c for c in ours._cache if c != "bread" and not isinstance(c, tuple)]:
            ours._cache.pop(key)
        return ours.influence(), ours.loo_params("newton")

    def statsmodels_run():
        return theirs.get_influence().d_params

    times = {"mestimate": [], "statsmodels": []}
    for _ in range(repeats):                       # interleaved, median reported
        for name, run in (("mestimate", mestimate_run), ("statsmodels", statsmodels_run)):
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    med = {name: float(np.median(v)) for name, v in times.items()}
    loo = mestimate_run()[1].to_numpy()
    diff = np.max(np.abs(loo - (theirs.params - statsmodels_run())))
    print(f"n={n}, k={k}: mestimate {med['mestimate']:.3f} s, statsmodels {med['statsmodels']:.3f} s, "
          f"ratio {med['mestimate'] / med['statsmodels']:.2f} (target ≤ 0.25); "
          f"Newton-step LOO params max |diff| {diff:.1e}")


if __name__ == "__main__":
    main()
