"""The NIST StRD nonlinear regression problems (certified values to 11 digits).

The 27 ``.dat`` files of the NIST Statistical Reference Datasets (StRD) for nonlinear
least squares ship with the package; :func:`load_nist` parses one and attaches its model
function written as numpy code. They are the standard yardstick for a nonlinear
least-squares optimiser: two starting values per problem (start 1 far from the solution,
start 2 closer), certified parameters, standard deviations σ̂ √diag((JᵀJ)⁻¹), residual
sum of squares and residual standard deviation σ̂ = √(RSS / (n − k)).

Every model function ``f(x, b)`` is complex-safe (only analytic numpy operations), so
complex-step Jacobians apply. A few problems also carry an analytic Jacobian ``jac(x, b)``.

References
----------
NIST Statistical Reference Datasets, Nonlinear Regression,
https://www.itl.nist.gov/div898/strd/nls/nls_main.shtml

McCullough, B. D. (1998). Assessing the reliability of statistical software: Part I.
The American Statistician 52(4), 358–366 (the log relative error, LRE).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from ..exceptions import MEstimateError

__all__ = ["NIST_PROBLEMS", "NistProblem", "load_nist", "log_relative_error"]

_PI = np.pi


def _exp1(x, b):  # Misra1a, BoxBOD: b1 (1 − exp(−b2 x))
    return b[0] * (1.0 - np.exp(-b[1] * x))


def _exp1_jac(x, b):
    e = np.exp(-b[1] * x)
    return np.column_stack([1.0 - e, b[0] * x * e])


def _chwirut(x, b):
    return np.exp(-b[0] * x) / (b[1] + b[2] * x)


def _danwood(x, b):
    return b[0] * x ** b[1]


def _enso(x, b):
    w = 2.0 * _PI * x
    return (b[0] + b[1] * np.cos(w / 12) + b[2] * np.sin(w / 12)
            + b[4] * np.cos(w / b[3]) + b[5] * np.sin(w / b[3])
            + b[7] * np.cos(w / b[6]) + b[8] * np.sin(w / b[6]))


def _eckerle4(x, b):
    return (b[0] / b[1]) * np.exp(-0.5 * ((x - b[2]) / b[1]) ** 2)


def _eckerle4_jac(x, b):
    z = (x - b[2]) / b[1]
    e = np.exp(-0.5 * z ** 2)
    f = (b[0] / b[1]) * e
    return np.column_stack([e / b[1], f * (z ** 2 - 1.0) / b[1], f * z / b[1]])


def _gauss(x, b):
    return (b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-(x - b[3]) ** 2 / b[4] ** 2)
            + b[5] * np.exp(-(x - b[6]) ** 2 / b[7] ** 2))


def _rational(x, b):  # Hahn1, Thurber (cubic/cubic); Kirby2 (quadratic/quadratic)
    m = (len(b) - 1) // 2
    num = sum(b[j] * x ** j for j in range(m + 1))
    den = 1.0 + sum(b[m + j] * x ** j for j in range(1, m + 1))
    return num / den


def _rational_jac(x, b):
    m = (len(b) - 1) // 2
    num = sum(b[j] * x ** j for j in range(m + 1))
    den = 1.0 + sum(b[m + j] * x ** j for j in range(1, m + 1))
    cols = [x ** j / den for j in range(m + 1)]
    cols += [-num * x ** j / den ** 2 for j in range(1, m + 1)]
    return np.column_stack(cols)


def _lanczos(x, b):
    return b[0] * np.exp(-b[1] * x) + b[2] * np.exp(-b[3] * x) + b[4] * np.exp(-b[5] * x)


def _lanczos_jac(x, b):
    cols = []
    for j in (0, 2, 4):
        e = np.exp(-b[j + 1] * x)
        cols += [e, -b[j] * x * e]
    return np.column_stack(cols)


def _mgh09(x, b):
    return b[0] * (x ** 2 + x * b[1]) / (x ** 2 + x * b[2] + b[3])


def _mgh09_jac(x, b):
    num = x ** 2 + x * b[1]
    den = x ** 2 + x * b[2] + b[3]
    f = b[0] * num / den
    return np.column_stack([num / den, b[0] * x / den, -f * x / den, -f / den])


def _mgh10(x, b):
    return b[0] * np.exp(b[1] / (x + b[2]))


def _mgh10_jac(x, b):
    e = np.exp(b[1] / (x + b[2]))
    return np.column_stack([e, b[0] * e / (x + b[2]), -b[0] * b[1] * e / (x + b[2]) ** 2])


def _mgh17(x, b):
    return b[0] + b[1] * np.exp(-x * b[3]) + b[2] * np.exp(-x * b[4])


def _misra1b(x, b):
    return b[0] * (1.0 - (1.0 + b[1] * x / 2) ** (-2))


def _misra1c(x, b):
    return b[0] * (1.0 - (1.0 + 2 * b[1] * x) ** (-0.5))


def _misra1d(x, b):
    return b[0] * b[1] * x * (1.0 + b[1] * x) ** (-1)


def _nelson(x, b):  # response is log(y); x has columns x1, x2
    return b[0] - b[1] * x[:, 0] * np.exp(-b[2] * x[:, 1])


def _rat42(x, b):
    return b[0] / (1.0 + np.exp(b[1] - b[2] * x))


def _rat43(x, b):
    return b[0] / (1.0 + np.exp(b[1] - b[2] * x)) ** (1.0 / b[3])


def _rat43_jac(x, b):
    e = np.exp(b[1] - b[2] * x)
    u = 1.0 + e
    f = b[0] / u ** (1.0 / b[3])
    d_b2 = -f * e / (b[3] * u)
    return np.column_stack([f / b[0], d_b2, -x * d_b2, f * np.log(u) / b[3] ** 2])


def _roszman1(x, b):
    return b[0] - b[1] * x - np.arctan(b[2] / (x - b[3])) / _PI


def _bennett5(x, b):
    return b[0] * (b[1] + x) ** (-1.0 / b[2])


_MODELS: dict[str, tuple[Callable, Callable | None]] = {
    "Bennett5": (_bennett5, None), "BoxBOD": (_exp1, _exp1_jac),
    "Chwirut1": (_chwirut, None), "Chwirut2": (_chwirut, None), "DanWood": (_danwood, None),
    "ENSO": (_enso, None), "Eckerle4": (_eckerle4, _eckerle4_jac),
    "Gauss1": (_gauss, None), "Gauss2": (_gauss, None), "Gauss3": (_gauss, None),
    "Hahn1": (_rational, _rational_jac), "Kirby2": (_rational, _rational_jac),
    "Lanczos1": (_lanczos, _lanczos_jac), "Lanczos2": (_lanczos, _lanczos_jac),
    "Lanczos3": (_lanczos, _lanczos_jac), "MGH09": (_mgh09, _mgh09_jac),
    "MGH10": (_mgh10, _mgh10_jac), "MGH17": (_mgh17, None), "Misra1a": (_exp1, _exp1_jac),
    "Misra1b": (_misra1b, None), "Misra1c": (_misra1c, None), "Misra1d": (_misra1d, None),
    "Nelson": (_nelson, None), "Rat42": (_rat42, None), "Rat43": (_rat43, _rat43_jac),
    "Roszman1": (_roszman1, None), "Thurber": (_rational, _rational_jac),
}

NIST_PROBLEMS: list[str] = [
    "Misra1a", "Chwirut2", "Chwirut1", "Lanczos3", "Gauss1", "Gauss2", "DanWood", "Misra1b",
    "Kirby2", "Hahn1", "Nelson", "MGH17", "Lanczos1", "Lanczos2", "Gauss3", "Misra1c",
    "Misra1d", "Roszman1", "ENSO", "MGH09", "Thurber", "BoxBOD", "Rat42", "MGH10",
    "Eckerle4", "Rat43", "Bennett5",
]
"""The 27 problem names, in NIST's order (lower, average, higher difficulty)."""


@dataclass(frozen=True, eq=False)
class NistProblem:
    """One NIST StRD nonlinear regression problem.

    Attributes
    ----------
    name, difficulty : str
        ``difficulty`` is ``"lower"``, ``"average"`` or ``"higher"``.
    model : str
        The model formula as printed in the file.
    x : ndarray
        Predictor, (n,) — or (n, 2) for Nelson (columns x1, x2).
    y : ndarray
        The regression response, (n,). For Nelson this is log(y), as in its model.
    start1, start2 : ndarray
        NIST's two starting values.
    certified_params, certified_sd : ndarray
        Certified estimates and standard deviations.
    residual_ss, residual_sd : float
        Certified residual sum of squares and residual standard deviation.
    df : int
        Residual degrees of freedom n − k. (Rat43.dat prints 9, a known misprint: its
        certified residual SD is √(RSS/11).)
    f : callable
        ``f(x, b)``, the model function (complex-safe numpy code).
    jac : callable or None
        ``jac(x, b)``, analytic ∂f/∂b (n, k), for some problems.
    """

    name: str
    difficulty: str
    model: str
    x: np.ndarray
    y: np.ndarray
    start1: np.ndarray
    start2: np.ndarray
    certified_params: np.ndarray
    certified_sd: np.ndarray
    residual_ss: float
    residual_sd: float
    df: int
    f: Callable
    jac: Callable | None

    @property
    def nobs(self) -> int:
        return int(self.y.shape[0])

    @property
    def k_params(self) -> int:
        return int(self.certified_params.shape[0])

    @property
    def param_names(self) -> list[str]:
        return [f"b{j + 1}" for j in range(self.k_params)]

    def start(self, which: int) -> np.ndarray:
        """Starting values 1 or 2."""
        if which not in (1, 2):
            raise MEstimateError(f"NIST problems have starting values 1 and 2, not {which!r}")
        return self.start1 if which == 1 else self.start2

    def __repr__(self) -> str:
        return (f"<NistProblem {self.name} ({self.difficulty} difficulty): n={self.nobs}, "
                f"k={self.k_params}; {self.model}>")


def _float(s: str) -> float:
    return float(s.replace("D", "E").replace("d", "e"))


def _lines(text: str, label: str) -> tuple[int, int]:
    m = re.search(label + r"\s*\(lines\s+(\d+)\s+to\s+(\d+)\)", text)
    if m is None:  # pragma: no cover - all shipped files have it
        raise MEstimateError(f"not a NIST StRD file: no '{label} (lines a to b)' in the header")
    return int(m.group(1)), int(m.group(2))


def _number_after(text: str, label: str) -> float:
    m = re.search(label + r":\s*([-+0-9.EeDd]+)", text)
    if m is None:  # pragma: no cover
        raise MEstimateError(f"not a NIST StRD file: no '{label}:' line")
    return _float(m.group(1))


def parse_nist(text: str, name: str = "") -> dict:
    """Parse the text of a NIST StRD nonlinear regression ``.dat`` file into a dict."""
    lines = text.splitlines()
    params = []
    for line in lines:
        m = re.match(r"\s*b(\d+)\s*=\s*(.+)$", line)
        if m:
            vals = [_float(v) for v in m.group(2).split()]
            if len(vals) == 4:
                params.append(vals)
    if not params:
        raise MEstimateError(f"{name}: no parameter lines 'bj = start1 start2 certified sd' found")
    p = np.array(params, dtype=float)
    d0, d1 = _lines(text, "Data")
    data = np.array([[_float(v) for v in ln.split()] for ln in lines[d0 - 1:d1] if ln.strip()])
    diff = re.search(r"(Lower|Average|Higher) Level of Difficulty", text)
    model = re.search(r"\n\s*(?:log\[y\]|y)\s*=\s*(.+?)\+\s*e\s*\n", text, re.S)
    return {
        "difficulty": diff.group(1).lower() if diff else "unknown",
        "model": " ".join(model.group(0).split()) if model else "",
        "y": data[:, 0], "x": data[:, 1] if data.shape[1] == 2 else data[:, 1:],
        "start1": p[:, 0], "start2": p[:, 1], "certified_params": p[:, 2],
        "certified_sd": p[:, 3],
        "residual_ss": _number_after(text, "Residual Sum of Squares"),
        "residual_sd": _number_after(text, "Residual Standard Deviation"),
        "df": int(_number_after(text, "Degrees of Freedom")),
    }


@lru_cache(maxsize=None)
def _load(name: str) -> NistProblem:
    text = resources.files(__package__).joinpath("nist_strd", f"{name}.dat").read_text()
    d = parse_nist(text, name)
    if name == "Nelson":
        d["y"] = np.log(d["y"])
    # Rat43.dat says 9 degrees of freedom; n − k = 11 is what its residual SD implies
    d["df"] = d["y"].shape[0] - d["certified_params"].shape[0]
    for key in ("x", "y", "start1", "start2", "certified_params", "certified_sd"):
        d[key].setflags(write=False)
    f, jac = _MODELS[name]
    return NistProblem(name=name, f=f, jac=jac, **d)


def load_nist(name: str) -> NistProblem:
    """Load a NIST StRD nonlinear regression problem.

    Parameters
    ----------
    name : str
        One of :data:`NIST_PROBLEMS` (case-insensitive), e.g. ``"Misra1a"``.

    Returns
    -------
    NistProblem
        Data, starting values, certified values and the model function ``f(x, b)``.

    Notes
    -----
    The certified standard deviations are σ̂ √diag((JᵀJ)⁻¹) with σ̂² = RSS/(n − k) and J the
    Jacobian of f at the certified estimates: ``cov_type="nonrobust"`` of
    :class:`~mestimate.NonlinearLeastSquares` (Gauss–Newton bread).

    Examples
    --------
    >>> from mestimate.datasets import load_nist
    >>> p = load_nist("Misra1a")
    >>> p.nobs, p.k_params, p.difficulty
    (14, 2, 'lower')
    >>> rss = float(((p.y - p.f(p.x, p.certified_params)) ** 2).sum())
    >>> bool(abs(rss - p.residual_ss) < 1e-9 * p.residual_ss)
    True
    """
    lookup = {s.lower(): s for s in NIST_PROBLEMS}
    key = lookup.get(str(name).lower())
    if key is None:
        raise MEstimateError(f"unknown NIST problem {name!r}; available: {', '.join(NIST_PROBLEMS)}")
    return _load(key)


def log_relative_error(estimate, certified) -> np.ndarray:
    """LRE = −log10(|est − cert| / |cert|): the number of correct significant digits.

    Capped at 15 (agreement to rounding); −log10|est| replaces the relative error when the
    certified value is 0.

    Examples
    --------
    >>> log_relative_error([1.0000001], [1.0]).round(2)
    array([7.])
    """
    est = np.asarray(estimate, dtype=float)
    cert = np.asarray(certified, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.where(cert != 0, np.abs(est - cert) / np.abs(cert), np.abs(est))
        lre = -np.log10(err)
    lre = np.where(np.isnan(est), 0.0, lre)
    return np.clip(lre, 0.0, 15.0)
