import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def logit_data():
    rng = np.random.default_rng(12345)
    n = 400
    X = np.c_[np.ones(n), rng.normal(size=(n, 3))]
    beta = np.array([0.3, 1.0, -0.5, 0.25])
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ beta))).astype(float)
    return y, X


@pytest.fixture(scope="session")
def poisson_data():
    rng = np.random.default_rng(7)
    n = 300
    X = np.c_[np.ones(n), rng.normal(size=(n, 2))]
    y = rng.poisson(np.exp(X @ np.array([0.5, 0.3, -0.2]))).astype(float)
    return y, X


@pytest.fixture(scope="session")
def ols_frame():
    rng = np.random.default_rng(1)
    n = 250
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n),
                       "g": rng.choice(list("abcd"), n)})
    df["y"] = 1 + 2 * df.x - df.z + (df.g == "b") + rng.standard_t(5, size=n)
    return df
