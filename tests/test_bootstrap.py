"""Bootstrap covariance: against a brute-force resampling loop and the sandwich."""
import numpy as np
import pytest
import statsmodels.api as sm

import mestimate as me
from mestimate.covariance.bootstrap import bootstrap_weights


def test_iid_bootstrap_equals_explicit_resampling(poisson_data):
    y, X = poisson_data
    res = me.Poisson(y, X).fit()
    cov = res.cov_params(cov_type="bootstrap", reps=30, seed=5).to_numpy()
    # brute force: the same resamples drawn as index vectors and fitted by statsmodels
    rng = np.random.default_rng(5)
    n = len(y)
    draws = []
    for _ in range(30):
        counts = bootstrap_weights(rng, n).astype(int)
        idx = np.repeat(np.arange(n), counts)
        draws.append(sm.Poisson(y[idx], X[idx]).fit(disp=0, tol=1e-14).params)
    np.testing.assert_allclose(cov, np.cov(np.array(draws), rowvar=False), rtol=1e-7)


def test_bootstrap_close_to_sandwich_and_reproducible(logit_data):
    y, X = logit_data
    res = me.Logit(y, X).fit(cov_type="bootstrap", cov_kwds={"reps": 300, "seed": 1})
    hc0 = res.cov_params(cov_type="HC0")
    np.testing.assert_allclose(np.sqrt(np.diag(res.cov_params())), np.sqrt(np.diag(hc0)), rtol=0.15)
    again = res.cov_params(cov_type="bootstrap", reps=300, seed=1)
    np.testing.assert_array_equal(again, res.cov_params())
    assert "bootstrap (iid, B = 300" in str(res.summary())


def test_cluster_and_block_schemes(logit_data):
    y, X = logit_data
    g = np.arange(len(y)) // 8
    res = me.Logit(y, X).fit()
    info = res.cov_info("bootstrap", reps=20, scheme="cluster", groups=g)
    assert info.n_groups == 50 and info.replicates.shape == (20, 4)
    w = bootstrap_weights(np.random.default_rng(0), 23, "block", block_length=5)
    assert w.sum() == 23 and w.min() >= 0
    with pytest.raises(me.MEstimateError, match="allowed"):
        res.cov_params(cov_type="bootstrap", replications=5)
    with pytest.raises(me.MEstimateError, match="groups"):
        res.cov_params(cov_type="bootstrap", scheme="cluster")


def test_covariance_cache_is_keyed_by_group_contents_not_identity(logit_data):
    y, X = logit_data
    res = me.Logit(y, X).fit()
    n = len(y)
    seen = []
    for size in (2, 4, 8, 16):
        # temporaries freed between calls may reuse an address: results must still differ
        cov = res.cov_params("cluster", groups=np.arange(n) // size).to_numpy()
        seen.append(cov)
        ref = res.cov_params("cluster", groups=list(np.arange(n) // size)).to_numpy()
        np.testing.assert_array_equal(cov, ref)
    assert not any(np.array_equal(seen[i], seen[j]) for i in range(4) for j in range(i + 1, 4))
    labels = np.array(["a", "b"] * (n // 2), dtype=object)
    np.testing.assert_array_equal(res.cov_params("cluster", groups=labels),
                                  res.cov_params("cluster", groups=(np.arange(n) % 2)))
