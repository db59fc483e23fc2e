"""Load the R reference data of tests/reference/covariance and build lm/glm estfun/bread.

The models are rebuilt with numpy from the stored data and R's coefficients, in
mestimate's conventions (estfun = loss gradient rows, bread = Hessian of the mean loss).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

REF = Path(__file__).resolve().parents[1] / "reference" / "covariance"


@cache
def results() -> pd.DataFrame:
    return pd.read_csv(REF / "results.csv", dtype={"value": float})


def r_value(model: str, method: str) -> np.ndarray | float:
    """A stored R matrix (k×k or vector) or scalar."""
    d = results()
    d = d[(d.model == model) & (d.method == method)]
    if d.empty:
        raise KeyError(f"{model}/{method} not in results.csv")
    if (d.i == 0).all():
        return float(d.value.iloc[0])
    out = np.full((d.i.max(), d.j.max()), np.nan)
    out[d.i - 1, d.j - 1] = d.value.to_numpy()
    return out[:, 0] if out.shape[1] == 1 else out


def r_methods(model: str, prefix: str) -> list[str]:
    d = results()
    names = d.loc[(d.model == model) & d.method.str.startswith(prefix), "method"]
    return list(dict.fromkeys(names))


@dataclass
class Fit:
    """An lm/glm in mestimate's sandwich protocol (also usable by compute_cov)."""

    name: str
    X: np.ndarray
    y: np.ndarray
    family: str
    data: pd.DataFrame
    param_names: list[str]
    params: np.ndarray = field(init=False)
    time_ordered: bool = True

    def __post_init__(self):
        self.params = r_value(self.name, "coef")
        eta = self.X @ self.params
        if self.family == "gaussian":
            self.mu, self.w = eta, np.ones_like(eta)
        elif self.family == "binomial":
            self.mu = expit(eta)
            self.w = self.mu * (1 - self.mu)
        else:
            self.mu = np.exp(eta)
            self.w = self.mu
        self.nobs, self.k_params = self.X.shape

    def estfun(self):
        return -self.X * (self.y - self.mu)[:, None]

    def bread(self):
        return (self.X * self.w[:, None]).T @ self.X / self.nobs

    def leverage(self):
        xs = self.X * np.sqrt(self.w)[:, None]
        q, _ = np.linalg.qr(xs)
        return np.einsum("ij,ij->i", q, q)

    def design(self):
        return self.X

    def working_weights(self):
        return self.w

    def data_column(self, name):
        return self.data[name].to_numpy()


def _read(name):
    return pd.read_csv(REF / f"data_{name}.csv")


@cache
def fit(name: str) -> Fit:
    if name == "ps_lm":
        d = _read("publicschools")
        X = np.column_stack([np.ones(len(d)), d.Income, d.Income**2])
        return Fit(name, X, d.Expenditure.to_numpy(float), "gaussian", d, ["(Intercept)", "Income", "I(Income^2)"])
    if name in ("pet_lm", "pet_logit"):
        d = _read("petersen")
        X = np.column_stack([np.ones(len(d)), d.x])
        y = d.y.to_numpy(float) if name == "pet_lm" else d.yb.to_numpy(float)
        return Fit(name, X, y, "gaussian" if name == "pet_lm" else "binomial", d, ["(Intercept)", "x"])
    if name == "mt_pois":
        d = _read("mtcars")
        X = np.column_stack([np.ones(len(d)), d.wt, d.hp])
        return Fit(name, X, d.carb.to_numpy(float), "poisson", d, ["(Intercept)", "wt", "hp"])
    if name in ("inv_lm", "inv_rev"):
        d = _read("investment" if name == "inv_lm" else "investment_reversed")
        X = np.column_stack([np.ones(len(d)), d.RealGNP, d.RealInt])
        f = Fit(name if name == "inv_lm" else "inv_lm", X, d.RealInv.to_numpy(float), "gaussian", d,
                ["(Intercept)", "RealGNP", "RealInt"])
        return f
    raise KeyError(name)


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a_ij − b_ij| / sqrt(b_ii b_jj) (scalars: relative difference)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.ndim == 0:
        return float(abs(a - b) / abs(b))
    d = np.sqrt(np.abs(np.diag(b)))
    return float(np.max(np.abs(a - b) / np.outer(d, d)))
