"""The dask back end reproduces the in-memory results (issue 8).

Every test runs on a ``dask.distributed`` LocalCluster (2 workers, 1 thread each,
in-process) started and stopped here; the in-memory fit is the reference, and the
agreement required is 1e-10 relative.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mestimate as me
from mestimate.exceptions import DataError, MEstimateError

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")

RTOL = 1e-10
CHUNK = 90

# one xdist worker runs this module, so that one LocalCluster at a time runs on the machine
pytestmark = pytest.mark.xdist_group("dask")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(8)
    n = 500
    X = np.c_[np.ones(n), rng.normal(size=(n, 3))]
    eta = X @ np.array([0.2, 0.8, -0.5, 0.3])
    return {
        "X": X, "w": rng.uniform(0.5, 2.0, n), "g": rng.integers(0, 23, n),
        "ols": eta + rng.standard_t(4, n),
        "logit": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float),
        "poisson": rng.poisson(np.exp(0.5 * eta)).astype(float),
    }


MODELS = {"ols": me.OLS, "logit": me.Logit, "poisson": me.Poisson}
COVS = [("nonrobust", {}), ("HC1", {}), ("HC3", {}),
        ("cluster", {"groups": "G"}), ("cluster", {"groups": "G2", "type": "HC0", "multi0": True}),
        ("HAC", {"maxlags": 120, "kernel": "parzen", "adjust": True})]


def _groups(kw, g):
    out = dict(kw)
    if out.get("groups") == "G":
        out["groups"] = g
    elif out.get("groups") == "G2":
        out["groups"] = [g, g % 4]
    return out


@pytest.fixture(scope="module", params=sorted(MODELS))
def pair(request, data, client):
    name = request.param
    y, X, w = data[name], data["X"], data["w"]
    kw = {"weights": w} if name != "poisson" else {}
    mem = MODELS[name](y, X, **kw).fit()
    dsk = MODELS[name](da.from_array(y, chunks=CHUNK), da.from_array(X, chunks=(CHUNK, 2)),
                       **kw).fit()
    return mem, dsk


def test_dask_model_is_dask_backed(pair):
    mem, dsk = pair
    assert type(dsk.model).__name__ == "Dask" + type(mem.model).__name__
    assert isinstance(dsk.model, type(mem.model))
    assert not hasattr(dsk.estfun(), "__array__") or type(dsk.estfun()).__module__.startswith("dask")


def test_params_loss_and_bread_match(pair):
    mem, dsk = pair
    assert rel(dsk.params, mem.params) < RTOL
    assert abs(dsk.loss - mem.loss) <= RTOL * abs(mem.loss)
    assert rel(dsk.bread(), mem.bread()) < RTOL
    assert dsk.nobs == mem.nobs


@pytest.mark.parametrize("cov_type,kw", COVS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(COVS)])
def test_covariances_match(pair, data, cov_type, kw):
    mem, dsk = pair
    kw = _groups(kw, data["g"])
    c0 = mem.cov_params(cov_type, **kw)
    c1 = dsk.cov_params(cov_type, **kw)
    assert rel(c1, c0) < RTOL
    assert dsk.cov_info(cov_type, **kw).description == mem.cov_info(cov_type, **kw).description


def test_estfun_is_lazy_and_matches(pair):
    mem, dsk = pair
    U = dsk.estfun()
    assert U.chunks[0] == tuple([CHUNK] * 5 + [50])
    assert rel(U.compute(), mem.estfun()) < RTOL


def test_influence_and_loo_are_lazy(pair):
    mem, dsk = pair
    infl = dsk.influence()
    assert infl.chunks[0][0] == CHUNK
    assert rel(infl.compute(), mem.influence()) < RTOL
    assert rel(dsk.influence_on("x1 * x2").compute(), mem.influence_on("x1 * x2")) < RTOL
    for method in ("ij", "newton"):
        assert rel(dsk.loo_params(method).compute(), mem.loo_params(method)) < RTOL


def test_influence_on_groups_spanning_partitions(pair, data):
    mem, dsk = pair
    s0 = mem.influence_on("x2", groups=data["g"])
    s1 = dsk.influence_on("x2", groups=data["g"])
    assert list(s1.index) == list(s0.index)
    assert rel(s1, s0) < RTOL


def test_exact_loo_needs_points(pair):
    mem, dsk = pair
    with pytest.raises(MEstimateError, match="points="):
        dsk.loo_params("exact")
    if type(mem.model).__name__ != "Logit":
        return
    pts = [0, 333]
    assert rel(dsk.loo_params("exact", points=pts), mem.loo_params("exact", points=pts)) < 1e-8


def test_generic_mestimator_on_dict_of_dask_arrays(data, client):
    X, y, w = data["X"], data["ols"], data["w"]

    def loss(p, d):  # a Huber loss with a scipy-free body
        r = d["y"] - p[0] - p[1] * d["x"]
        a = np.abs(r)
        return np.where(a < 1.345, 0.5 * r ** 2, 1.345 * a - 0.5 * 1.345 ** 2)

    mem = me.MEstimator(loss, {"y": y, "x": X[:, 1]}, k_params=2, weights=w).fit(cov_type="HC1")
    dsk = me.MEstimator(loss, {"y": da.from_array(y, chunks=CHUNK), "x": X[:, 1]}, k_params=2,
                        weights=w).fit(cov_type="HC1")
    assert dsk.model.derivative_method == mem.model.derivative_method == "autodiff"
    assert rel(dsk.params, mem.params) < RTOL
    assert rel(dsk.bse, mem.bse) < 1e-6  # numerical Hessian, summed over partitions
    g = data["g"]
    # central-difference Hessians of the mean and of partition sums differ by rounding / h²
    assert rel(dsk.cov_params("cluster", groups=g), mem.cov_params("cluster", groups=g)) < 1e-6


def test_formula_on_dask_dataframe(client):
    rng = np.random.default_rng(3)
    n = 400
    df = pd.DataFrame({"x": rng.normal(size=n), "firm": rng.choice(list("abcdefg"), n),
                       "year": rng.integers(2000, 2004, n)})
    df["y"] = 1 + df.x + (df.firm == "c") + rng.normal(size=n)
    df.loc[[5, 210], "x"] = np.nan
    ddf = dd.from_pandas(df, npartitions=3)
    f = "y ~ x + C(firm) + C(year)"
    mem = me.OLS.from_formula(f, df).fit(cov_type="cluster", cov_kwds={"groups": "firm"})
    dsk = me.OLS.from_formula(f, ddf).fit(cov_type="cluster", cov_kwds={"groups": "firm"})
    assert list(dsk.params.index) == list(mem.params.index)
    assert dsk.n_dropped == mem.n_dropped == 2
    assert rel(dsk.params, mem.params) < RTOL
    assert rel(dsk.bse, mem.bse) < RTOL


def test_missing_values_are_counted_without_materialising(data, client):
    y = data["ols"].copy()
    y[[7, 300]] = np.nan
    dy, dX = da.from_array(y, chunks=CHUNK), da.from_array(data["X"], chunks=(CHUNK, 4))
    with pytest.raises(DataError, match="2 of 500 rows.*first bad row is 7"):
        me.OLS(dy, dX)
    dsk = me.OLS(dy, dX, missing="drop").fit()
    keep = np.isfinite(y)
    mem = me.OLS(y[keep], data["X"][keep]).fit()
    assert dsk.nobs == 498 and dsk.n_dropped == 2
    assert rel(dsk.params, mem.params) < RTOL


def test_unsupported_options_say_what_to_do(pair):
    _, dsk = pair
    with pytest.raises(MEstimateError, match="maxlags"):
        dsk.cov_params("HAC")
    with pytest.raises(MEstimateError, match="prewhite=False"):
        dsk.cov_params("HAC", maxlags=2, prewhite=True)
