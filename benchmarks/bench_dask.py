"""Logistic regression with HC0 and cluster SEs on data larger than memory (issue 8).

The data are generated chunk by chunk by dask (fixed seed, so every pass over the
data sees the same numbers) and never held in memory at once. Peak memory is the
resident set size of this process (the LocalCluster runs in-process, so workers
are included), sampled every 50 ms.

    python benchmarks/bench_dask.py --quick            # 10⁶ rows, seconds
    python benchmarks/bench_dask.py --rows 200000000   # 200M × 10 ≈ 16 GB of float64

``--compare`` also fits the same data in memory (only for sizes that fit).
``--store DIR`` writes the generated data once to DIR as per-chunk ``.npy`` files
(``dask.array.to_npy_stack``) and fits from there, so every pass reads from disk instead of
regenerating the numbers — how data larger than memory usually arrive.
"""
from __future__ import annotations

import argparse
import threading
import time

import numpy as np
import psutil


def make_data(n: int, k: int, chunk: int, seed: int = 0):
    import dask.array as da

    rng = da.random.default_rng(seed)
    X = rng.standard_normal((n, k), chunks=(chunk, k))
    X = da.concatenate([da.ones((n, 1), chunks=(chunk, 1)), X[:, 1:]], axis=1)
    beta = np.linspace(-0.5, 0.5, k)
    p = 1 / (1 + da.exp(-(X @ beta)))
    y = (rng.random(n, chunks=chunk) < p).astype(float)
    groups = rng.integers(0, 1000, n, chunks=chunk)
    return y, X, groups


class PeakRSS:
    def __init__(self):
        self.peak, self._stop = 0, threading.Event()

    def __enter__(self):
        proc = psutil.Process()

        def watch():
            while not self._stop.is_set():
                self.peak = max(self.peak, proc.memory_info().rss)
                time.sleep(0.05)

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def stored(arrays, store: str):
    """Write ``arrays`` to ``store/<i>`` once (npy stacks) and return them read back lazily."""
    import os

    import dask.array as da

    out = []
    for i, a in enumerate(arrays):
        path = os.path.join(store, str(i))
        os.makedirs(store, exist_ok=True)
        if not os.path.exists(os.path.join(path, "info")):
            t0 = time.perf_counter()
            da.to_npy_stack(path, a, axis=0)
            print(f"  wrote {path} ({a.nbytes / 1e9:.2f} GB) in {time.perf_counter() - t0:.0f} s")
        out.append(da.from_npy_stack(path, mmap_mode=None))
    return out


def run(n: int, k: int, chunk: int, compare: bool, store: str | None = None) -> None:
    from dask.distributed import Client, LocalCluster

    import mestimate as me

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):
        y, X, g = make_data(n, k, chunk)
        if store:
            y, X, g = stored((y, X, g), store)
        base = psutil.Process().memory_info().rss
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            res = me.Logit(y, X).fit(cov_type="HC0")
            t_fit = time.perf_counter() - t0
            t0 = time.perf_counter()
            se_cl = np.sqrt(np.diag(res.cov_params("cluster", groups=g)))
            t_cl = time.perf_counter() - t0
        gb = n * (k + 2) * 8 / 1e9
        print(f"dask: n={n:,} k={k} ({gb:.2f} GB as float64), chunks of {chunk:,} rows")
        print(f"  fit + HC0: {t_fit:.1f} s ({res.iterations} Newton steps); cluster SEs: {t_cl:.1f} s")
        print(f"  peak RSS {mem.peak / 2**30:.2f} GiB (baseline {base / 2**30:.2f} GiB)")
        print(f"  params {np.round(res.params.to_numpy()[:4], 4)} HC0 se {np.round(res.bse.to_numpy()[:2], 6)}"
              f" cluster se {np.round(se_cl[:2], 6)}")
        if compare:
            yn, Xn, gn = (a.compute() for a in (y, X, g))
            with PeakRSS() as mem2:
                t0 = time.perf_counter()
                r0 = me.Logit(yn, Xn).fit(cov_type="HC0")
                c0 = r0.cov_params("cluster", groups=gn)
                t_mem = time.perf_counter() - t0
            diff = np.max(np.abs(r0.params.to_numpy() - res.params.to_numpy()) / np.abs(r0.params))
            dse = np.max(np.abs(np.sqrt(np.diag(c0)) / se_cl - 1))
            print(f"in memory: fit + HC0 + cluster {t_mem:.1f} s, peak RSS {mem2.peak / 2**30:.2f} GiB;"
                  f" max rel diff params {diff:.1e}, cluster se {dse:.1e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=200_000_000)
    ap.add_argument("--cols", type=int, default=10)
    ap.add_argument("--chunk", type=int, default=2_000_000)
    ap.add_argument("--quick", action="store_true", help="10⁶ rows, compared with in-memory")
    ap.add_argument("--compare", action="store_true", help="also fit in memory")
    ap.add_argument("--store", default=None, help="write the data to this folder once, read it back")
    a = ap.parse_args()
    if a.quick:
        run(1_000_000, a.cols, 100_000, compare=True, store=a.store)
    else:
        run(a.rows, a.cols, a.chunk, a.compare, store=a.store)


if __name__ == "__main__":
    main()
